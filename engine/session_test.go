package engine

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
)

// TestBatchMatchesSequential evaluates a prompt as one batch and token by
// token: the logits must agree, or batched prefill computes something else
// than decoding does.
func TestBatchMatchesSequential(t *testing.T) {
	path := filepath.Join(sharedDir, "models", "synth-llama-small-Q8_0.gguf")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is absent (the shared test data is not checked out beside the repository)", path)
	}
	be := cpu.New(2)
	defer be.Close()
	l, err := Load(path, be)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tokens := l.Tokenizer.Encode("The quick brown fox jumps over the lazy dog, and then it runs far away into the dark forest where nobody can find it again, ever. Then the dog wakes up, looks around, and goes back to sleep in the warm afternoon sun.", true, false)
	if len(tokens) < 40 {
		t.Fatalf("prompt of %d tokens is too short to cover the large-batch path", len(tokens))
	}
	vocab := l.Model.HParams().Vocab
	batch, err := NewSession(l.Model, be, gguf.TypeF32, 128, 1)
	if err != nil {
		t.Fatal(err)
	}
	all, err := batch.Eval(0, tokens, true)
	if err != nil {
		t.Fatal(err)
	}
	all = append([]float32(nil), all...)
	seq, _ := NewSession(l.Model, be, gguf.TypeF32, 128, 1)
	var worst float64
	for i, tok := range tokens {
		one, err := seq.Eval(0, []int32{tok}, false)
		if err != nil {
			t.Fatal(err)
		}
		a, b := LogSoftmax(nil, all[i*vocab:(i+1)*vocab]), LogSoftmax(nil, one)
		for j := range a {
			worst = max(worst, math.Abs(float64(a[j]-b[j])))
		}
	}
	if worst > 1e-3 {
		t.Errorf("batched and sequential logprobs differ by up to %g", worst)
	}
}
