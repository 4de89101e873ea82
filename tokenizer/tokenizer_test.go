package tokenizer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/openweights/owl/gguf"
)

// ggufFile builds an in-memory GGUF file with the given metadata.
func ggufFile(t *testing.T, kv map[string]any) *gguf.File {
	t.Helper()
	var kvs []gguf.KV
	for k, x := range kv {
		v, err := gguf.ValueOf(x)
		if err != nil {
			t.Fatal(err)
		}
		kvs = append(kvs, gguf.KV{Key: k, Value: v})
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, kvs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// tinySPM is a small SPM vocabulary: the usual three specials, byte
// tokens for a few bytes, some pieces, and added tokens.
func tinySPM() map[string]any {
	tokens := []string{"<unk>", "<s>", "</s>", "<0x0A>", "<0xC3>", "<0xA9>", "▁", "a", "b", "c", "ab", "▁ab", "▁a", "bc", "<tool>", "[X]", "▁c"}
	scores := []float32{0, 0, 0, 0, 0, 0, -1, -2, -3, -4, -1.5, -1, -2.5, -2, 0, 0, -3}
	types := []int32{2, 3, 3, 6, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 3, 4, 1}
	return map[string]any{
		"general.architecture":            "llama",
		"tokenizer.ggml.model":            "llama",
		"tokenizer.ggml.tokens":           tokens,
		"tokenizer.ggml.scores":           scores,
		"tokenizer.ggml.token_type":       types,
		"tokenizer.ggml.bos_token_id":     uint32(1),
		"tokenizer.ggml.eos_token_id":     uint32(2),
		"tokenizer.ggml.add_bos_token":    true,
		"tokenizer.ggml.add_eos_token":    false,
		"tokenizer.ggml.unknown_token_id": uint32(0),
	}
}

func TestTinySPM(t *testing.T) {
	tok, err := FromGGUF(ggufFile(t, tinySPM()))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Model() != "llama" || tok.VocabSize() != 17 || tok.BOS() != 1 || tok.EOS() != 2 || !tok.AddBOS() {
		t.Fatalf("model %q size %d bos %d eos %d addBOS %v", tok.Model(), tok.VocabSize(), tok.BOS(), tok.EOS(), tok.AddBOS())
	}
	tests := []struct {
		text              string
		addSpecial, parse bool
		want              []int32
	}{
		{"", false, false, nil},
		{"", true, false, []int32{1}},
		// " abc" -> ▁ab (score -1) beats ▁a, then c; "▁ab"+"c" is no token.
		{"abc", false, false, []int32{11, 9}},
		{"abc", true, false, []int32{1, 11, 9}},
		// Spaces are ▁; "▁▁" is no token so each is its own.
		{" c", false, false, []int32{6, 16}},
		// é (C3 A9) has no token: byte fallback. \n too.
		{"é\n", false, false, []int32{6, 4, 5, 3}},
		// A character with no byte token either becomes <unk>.
		{"z", false, false, []int32{6, 0}},
		// Control tokens are text unless parse_special...
		{"<s>a", false, true, []int32{1, 12}},
		// ... and user-defined tokens are always matched, with a space
		// prefix for the text after them.
		{"a[X]c", false, false, []int32{12, 15, 16}},
		{"<tool>c", false, true, []int32{14, 16}},
	}
	for _, tc := range tests {
		got := tok.Encode(tc.text, tc.addSpecial, tc.parse)
		if !equalIDs(got, tc.want) {
			t.Errorf("Encode(%q, %v, %v) = %v, want %v", tc.text, tc.addSpecial, tc.parse, got, tc.want)
		}
	}
	// Without parse_special the control token is spelled out.
	if got := tok.Encode("<s>", false, false); equalIDs(got, []int32{1}) {
		t.Errorf("Encode(<s>) without parse_special gave the control token")
	}
	if got := string(tok.Decode([]int32{1, 11, 9, 2})); got != "abc" {
		t.Errorf("Decode = %q, want %q", got, "abc")
	}
	if got := string(tok.Decode([]int32{6, 4, 5, 3})); got != "é\n" {
		t.Errorf("Decode bytes = %q", got)
	}
	if got := string(tok.Piece(1)); got != "<s>" {
		t.Errorf("Piece(1) = %q", got)
	}
	if got := string(tok.Piece(11)); got != " ab" {
		t.Errorf("Piece(11) = %q", got)
	}
	if got := tok.Piece(999); got != nil {
		t.Errorf("Piece(999) = %q, want nil", got)
	}
	if !tok.IsEOG(2) || tok.IsEOG(1) {
		t.Errorf("IsEOG(2)=%v IsEOG(1)=%v", tok.IsEOG(2), tok.IsEOG(1))
	}
	// llama.cpp's detokenize: the space prefix is only stripped from the
	// very first token, and with removeSpecial the BOS goes first.
	if got := string(tok.Detokenize([]int32{1, 11}, false, false)); got != " ab" {
		t.Errorf("Detokenize(bos, ▁ab) = %q, want %q", got, " ab")
	}
	if got := string(tok.Detokenize([]int32{11}, false, false)); got != "ab" {
		t.Errorf("Detokenize(▁ab) = %q, want %q", got, "ab")
	}
	if got := string(tok.Detokenize([]int32{1, 11}, false, true)); got != "<s> ab" {
		t.Errorf("Detokenize unparse = %q", got)
	}
}

func TestFromGGUFErrors(t *testing.T) {
	gpt2 := func() map[string]any {
		return map[string]any{
			"tokenizer.ggml.model":  "gpt2",
			"tokenizer.ggml.pre":    "gpt-2",
			"tokenizer.ggml.tokens": []string{"a", "b", "ab"},
			"tokenizer.ggml.merges": []string{"a b"},
		}
	}
	tests := []struct {
		name  string
		edit  func(map[string]any)
		base  func() map[string]any
		wants []string
	}{
		{"no model", func(m map[string]any) { delete(m, "tokenizer.ggml.model") }, tinySPM, []string{"tokenizer.ggml.model"}},
		{"model type", func(m map[string]any) { m["tokenizer.ggml.model"] = uint32(3) }, tinySPM, []string{"tokenizer.ggml.model"}},
		{"t5", func(m map[string]any) { m["tokenizer.ggml.model"] = "t5" }, tinySPM, []string{"unsupported", `"t5"`}},
		{"rwkv", func(m map[string]any) { m["tokenizer.ggml.model"] = "rwkv" }, tinySPM, []string{"unsupported", `"rwkv"`}},
		{"unknown model", func(m map[string]any) { m["tokenizer.ggml.model"] = "zebra" }, tinySPM, []string{"unknown", `"zebra"`}},
		{"no tokens", func(m map[string]any) { delete(m, "tokenizer.ggml.tokens") }, tinySPM, []string{"tokenizer.ggml.tokens"}},
		{"tokens type", func(m map[string]any) { m["tokenizer.ggml.tokens"] = []int32{1, 2} }, tinySPM, []string{"tokenizer.ggml.tokens"}},
		{"short scores", func(m map[string]any) { m["tokenizer.ggml.scores"] = []float32{0} }, tinySPM, []string{"tokenizer.ggml.scores"}},
		{"short types", func(m map[string]any) { m["tokenizer.ggml.token_type"] = []int32{1} }, tinySPM, []string{"tokenizer.ggml.token_type"}},
		{"bos type", func(m map[string]any) { m["tokenizer.ggml.bos_token_id"] = "one" }, tinySPM, []string{"tokenizer.ggml.bos_token_id"}},
		{"add_bos type", func(m map[string]any) { m["tokenizer.ggml.add_bos_token"] = uint8(1) }, tinySPM, []string{"tokenizer.ggml.add_bos_token"}},
		{"duplicate", func(m map[string]any) {
			m["tokenizer.ggml.tokens"] = []string{"a", "b", "a"}
			delete(m, "tokenizer.ggml.scores")
			delete(m, "tokenizer.ggml.token_type")
		}, tinySPM, []string{"duplicate", `"a"`}},
		{"add_bos without bos", func(m map[string]any) { m["tokenizer.ggml.add_bos_token"] = true }, gpt2, []string{"add_bos_token", "bos_token_id"}},
		{"no merges", func(m map[string]any) { delete(m, "tokenizer.ggml.merges") }, gpt2, []string{"tokenizer.ggml.merges"}},
		{"unknown pre", func(m map[string]any) { m["tokenizer.ggml.pre"] = "no-such-pre" }, gpt2, []string{"no-such-pre"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.base()
			tc.edit(m)
			_, err := FromGGUF(ggufFile(t, m))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

// TestRoundTrip checks Decode(Encode(s)) == s on the test strings for the
// vocabularies that can represent any text: SPM (byte fallback; Decode
// drops the space SPM prefixes) and byte-level BPE. WPM cannot: it
// lowercases, strips accents and normalizes whitespace (see TestWPMDecode).
func TestRoundTrip(t *testing.T) {
	for _, name := range vocabNames {
		if name == "bert-bge" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			tok := loadVocab(t, name)
			for i, c := range readVocabCases(t, name) {
				for _, special := range []bool{false, true} {
					ids := tok.Encode(c.text, special, false)
					if got := string(tok.Decode(ids)); got != c.text {
						t.Errorf("case %d (addSpecial %v): Decode(Encode(%q)) = %q", i, special, c.text, got)
					}
				}
			}
		})
	}
}

func TestWPMDecode(t *testing.T) {
	tok := loadVocab(t, "bert-bge")
	tests := []struct{ in, want string }{
		{"Hello World", " hello world"},
		{"Führer", " fuhrer"},
		{"Hello, world!", " hello , world !"},
		{"  spaced\t\nout  ", " spaced out"},
		{"我天", " 我 天"},
		{"我想", " 我"}, // 想 is not in the vocabulary: [UNK], a control token
	}
	for _, tc := range tests {
		ids := tok.Encode(tc.in, true, false)
		if ids[0] != tok.BOS() || ids[len(ids)-1] != tok.SEP() {
			t.Errorf("Encode(%q, addSpecial) = %v: want [CLS] ... [SEP]", tc.in, ids)
		}
		if got := string(tok.Decode(ids)); got != tc.want {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// llama.cpp's detokenize also cleans the space before punctuation.
	ids := tok.Encode("Hello, world!", false, false)
	if got := string(tok.Detokenize(ids, false, false)); got != " hello, world!" {
		t.Errorf("Detokenize = %q", got)
	}
}

func TestSpecialTokens(t *testing.T) {
	gpt2 := loadVocab(t, "gpt-2")
	const eot = "<|endoftext|>"
	if got := gpt2.Encode("a"+eot+"b", false, true); !equalIDs(got, []int32{64, 50256, 65}) {
		t.Errorf("gpt-2 parse_special: %v", got)
	}
	if got := gpt2.Encode("a"+eot+"b", false, false); len(got) < 4 {
		t.Errorf("gpt-2 without parse_special: %v, want the marker spelled out", got)
	}
	if !gpt2.IsEOG(50256) || gpt2.EOS() != 50256 || gpt2.EOT() != 50256 {
		t.Errorf("gpt-2 EOG %v EOS %d EOT %d", gpt2.EOG(), gpt2.EOS(), gpt2.EOT())
	}
	if got := string(gpt2.Decode([]int32{64, 50256, 65})); got != "ab" {
		t.Errorf("Decode drops control tokens: %q", got)
	}
	if got := string(gpt2.Piece(50256)); got != eot {
		t.Errorf("Piece(50256) = %q", got)
	}
	if got := string(gpt2.Piece(gpt2.Encode(" hello", false, false)[0])); got != " hello" {
		t.Errorf("byte-level piece = %q", got)
	}
	// llama.cpp's detokenize cleans " ," and " 's" for GPT-2.
	ids := gpt2.Encode("Hello , it 's", false, false)
	if got := string(gpt2.Detokenize(ids, false, false)); got != "Hello, it's" {
		t.Errorf("Detokenize = %q", got)
	}
	if got := string(gpt2.Decode(ids)); got != "Hello , it 's" {
		t.Errorf("Decode = %q", got)
	}

	// phi-3: control tokens end generation; </s> is user-defined but
	// looks like an end marker, so llama.cpp makes it control too.
	phi := loadVocab(t, "phi-3")
	for _, id := range []int32{2, 32000, 32007} {
		if !phi.IsEOG(id) {
			t.Errorf("phi-3: %d (%s) not EOG", id, phi.Token(id))
		}
	}
	// <|user|> with parse_special; phi-3's specials strip the
	// whitespace after them.
	if got := phi.Encode("<|user|>\nhi", false, true); got[0] != 32010 || phi.Encode("hi", false, false)[0] != got[1] {
		t.Errorf("phi-3 <|user|>\\nhi = %v", got)
	}
}

// TestSPMWordSplit checks that merging word by word (spmWords) gives what
// merging the whole text at once gives, as llama.cpp does.
func TestSPMWordSplit(t *testing.T) {
	for _, name := range []string{"llama-spm", "phi-3"} {
		tok := loadVocab(t, name)
		if !tok.spmWords {
			t.Fatalf("%s: expected word-by-word merging to be safe", name)
		}
		whole := *tok
		whole.spmWords = false
		texts := []string{benchText(1 << 14), " a  b   c\n\nd▁e ▁▁x"}
		for _, c := range readVocabCases(t, name) {
			texts = append(texts, c.text)
		}
		for _, text := range texts {
			if a, b := tok.Encode(text, true, false), whole.Encode(text, true, false); !equalIDs(a, b) {
				t.Errorf("%s: %.40q: word by word %v, whole %v", name, text, a[:min(len(a), 20)], b[:min(len(b), 20)])
			}
		}
	}
	if spmWordsSafe([]string{"▁a", "▁▁", "ab▁"}) || !spmWordsSafe([]string{"▁a", "▁▁▁", "b"}) {
		t.Error("spmWordsSafe")
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := loadVocab(t, "gpt-2")
	text := benchText(1 << 14)
	want := tok.Encode(text, false, false)
	done := make(chan []int32)
	for range 4 {
		go func() { done <- tok.Encode(text, false, false) }()
	}
	for range 4 {
		if got := <-done; !equalIDs(got, want) {
			t.Error("concurrent Encode differs")
		}
	}
}

// TestEncodeHuge checks the cutting of texts past maxEncode (1 GiB) on a
// small limit: the pieces decode to the text, and BOS comes once at most.
func TestEncodeHuge(t *testing.T) {
	defer func(n int) { maxEncode = n }(maxEncode)
	maxEncode = 50
	text := strings.Repeat("Grüße, 🦙 world! ", 20)
	for _, name := range []string{"llama-spm", "gpt-2", "bert-bge"} {
		tok := loadVocab(t, name)
		ids := tok.Encode(text, true, false)
		wantBOS := 0
		if tok.AddBOS() {
			wantBOS = 1
			if ids[0] != tok.BOS() {
				t.Errorf("%s: %v does not start with BOS", name, ids[:min(len(ids), 10)])
			}
		}
		n := 0
		for _, id := range ids {
			if id == tok.BOS() {
				n++
			}
		}
		if n != wantBOS || len(ids) < 40 {
			t.Errorf("%s: %d BOS tokens in %d", name, n, len(ids))
		}
		if name == "gpt-2" {
			if got := string(tok.Decode(ids)); got != text {
				t.Errorf("gpt-2: Decode = %q", got)
			}
		}
	}
}

// TestGemma4Model covers llama.cpp's SPM-style BPE: spaces become ▁, runs
// of newlines are split off (and kept whole when they are a token), bytes
// without a token become <0xNN>, and BOS is always added.
func TestGemma4Model(t *testing.T) {
	tokens := []string{"<pad>", "<eos>", "<bos>", "<0x0A>", "<0xC3>", "<0xA9>", "▁", "a", "b", "▁a", "ab", "\n\n"}
	types := []int32{3, 3, 3, 6, 6, 6, 1, 1, 1, 1, 1, 1}
	tok, err := FromGGUF(ggufFile(t, map[string]any{
		"tokenizer.ggml.model":        "gemma4",
		"tokenizer.ggml.tokens":       tokens,
		"tokenizer.ggml.token_type":   types,
		"tokenizer.ggml.merges":       []string{"▁ a", "a b"},
		"tokenizer.ggml.bos_token_id": uint32(2),
		"tokenizer.ggml.eos_token_id": uint32(1),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Pre() != "gemma4" || !tok.AddBOS() {
		t.Errorf("pre %q addBOS %v", tok.Pre(), tok.AddBOS())
	}
	// "ab a\n\né\n": "ab", "▁a"; "\n\n" whole; é as bytes; "\n" as a byte.
	want := []int32{2, 10, 9, 11, 4, 5, 3}
	if got := tok.Encode("ab a\n\né\n", true, false); !equalIDs(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	if got := string(tok.Decode(want)); got != "ab a\n\né\n" {
		t.Errorf("Decode = %q", got)
	}
	if !tok.IsEOG(1) {
		t.Error("<eos> is not EOG")
	}
}
