package engine

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
	"github.com/openweights/owl/tokenizer"
)

// TestGenerateNeverSamplesPadding runs the synthetic model (32000 embedding
// rows) with a 30522-token vocabulary, as a model with a padded embedding
// has: hot sampling must never pick, nor list, a row past the vocabulary.
func TestGenerateNeverSamplesPadding(t *testing.T) {
	path := filepath.Join(sharedDir, "models", "synth-llama-small-Q8_0.gguf")
	vpath := filepath.Join(sharedDir, "vocab", "ggml-vocab-bert-bge.gguf")
	for _, p := range []string{path, vpath} {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("%s is absent (the shared test data is not checked out beside the repository)", p)
		}
	}
	be := cpu.New(2)
	defer be.Close()
	l, err := Load(path, be)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	vf, err := gguf.Open(vpath)
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	small, err := tokenizer.FromGGUF(vf)
	if err != nil {
		t.Fatal(err)
	}
	text := small.VocabSize()
	if text >= l.Model.HParams().Vocab {
		t.Fatalf("vocabulary of %d is not smaller than the model's %d rows", text, l.Model.HParams().Vocab)
	}
	sess, err := NewSession(l.Model, be, gguf.TypeF16, 256, 1)
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(0); seed < 4; seed++ {
		res, err := Generate(context.Background(), sess, 0, small, []int32{101, 2000, 3000}, GenerateParams{
			MaxTokens: 48, Logprobs: 5, PromptLogprobs: true,
			Sampler: SamplerParams{Temperature: 3, Seed: seed},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range res.Tokens {
			if int(id) >= text {
				t.Fatalf("seed %d: sampled embedding row %d, past the %d-token vocabulary", seed, id, text)
			}
		}
		for _, pos := range append(res.PromptLogprobs, res.Logprobs...) {
			for _, c := range pos {
				if int(c.ID) >= text {
					t.Fatalf("seed %d: listed embedding row %d as a likely token", seed, c.ID)
				}
			}
		}
	}
}
