package tokenizer

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openweights/owl/gguf"
)

// hfJSON assembles a tokenizer.json.
func hfJSON(t *testing.T, doc map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// llamaNormalizer and llamaDecoder are the normalizer and decoder of a
// Llama-style (SentencePiece BPE) tokenizer.json: spaces become ▁ with one
// prepended, and back again with that one stripped.
func llamaNormalizer() map[string]any {
	return map[string]any{"type": "Sequence", "normalizers": []any{
		map[string]any{"type": "Prepend", "prepend": "▁"},
		map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"},
	}}
}

func llamaDecoder() map[string]any {
	return map[string]any{"type": "Sequence", "decoders": []any{
		map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
		map[string]any{"type": "ByteFallback"},
		map[string]any{"type": "Fuse"},
		map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0},
	}}
}

// byteLevelVocab returns the 256 byte-level characters, id = byte value.
func byteLevelVocab() map[string]int {
	v := map[string]int{}
	for b := 0; b < 256; b++ {
		v[byteEnc[b]] = b
	}
	return v
}

func TestHFByteLevel(t *testing.T) {
	vocab := byteLevelVocab()
	vocab["ab"], vocab["Ġa"], vocab["Ġab"] = 256, 257, 258
	doc := func(merges []string) map[string]any {
		return map[string]any{
			"added_tokens": []map[string]any{
				{"id": 259, "content": "<|begin|>", "special": true},
				{"id": 260, "content": "<x>", "special": false, "rstrip": true},
			},
			"normalizer": nil,
			"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `(?i:'s|'t)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, "behavior": "Isolated", "invert": false},
				map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
			}},
			"post_processor": map[string]any{"type": "TemplateProcessing", "single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "<|begin|>", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
			}},
			"decoder": map[string]any{"type": "ByteLevel"},
			"model":   map[string]any{"type": "BPE", "vocab": vocab, "merges": merges, "ignore_merges": false, "byte_fallback": false},
		}
	}
	// "a b" first: " ab" becomes Ġ + ab, and "Ġ ab" is no merge.
	tok, err := FromHFJSON(hfJSON(t, doc([]string{"a b", "Ġ a", "Ġa b"})), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.AddBOS() || tok.BOS() != 259 {
		t.Errorf("BOS %d, add %v: want 259 from the TemplateProcessing", tok.BOS(), tok.AddBOS())
	}
	tests := []struct {
		text              string
		addSpecial, parse bool
		want              []int32
	}{
		{"ab ab", false, false, []int32{256, 32, 256}},
		{"ab ab", true, false, []int32{259, 256, 32, 256}},
		{"<|begin|>ab", false, true, []int32{259, 256}},
		// The user-defined <x> is matched without parse_special and eats
		// the spaces after it (rstrip).
		{"ab<x>  ab", false, false, []int32{256, 260, 256}},
		{"é", false, false, []int32{0xC3, 0xA9}},
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.text, tc.addSpecial, tc.parse); !equalIDs(got, tc.want) {
			t.Errorf("Encode(%q, %v, %v) = %v, want %v", tc.text, tc.addSpecial, tc.parse, got, tc.want)
		}
	}
	if got := string(tok.Decode([]int32{259, 256, 32, 256, 0xC3, 0xA9})); got != "ab abé" {
		t.Errorf("Decode = %q", got)
	}
	// Merges as pairs, with "Ġ a" first: " ab" becomes Ġa + b, then Ġab.
	pairs := [][]string{{"Ġ", "a"}, {"a", "b"}, {"Ġa", "b"}}
	d := doc(nil)
	d["model"].(map[string]any)["merges"] = pairs
	tok, err = FromHFJSON(hfJSON(t, d), []byte(`{"add_bos_token": false, "eos_token": {"content": "<|begin|>"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("ab ab", true, false); !equalIDs(got, []int32{256, 258}) {
		t.Errorf("pair merges: %v, want [256 258]", got)
	}
	if tok.AddBOS() || tok.EOS() != 259 {
		t.Errorf("tokenizer_config: addBOS %v EOS %d", tok.AddBOS(), tok.EOS())
	}
}

func TestHFSentencePieceBPE(t *testing.T) {
	vocab := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}
	for b := 0; b < 256; b++ {
		vocab[string([]byte{'<', '0', 'x', "0123456789ABCDEF"[b>>4], "0123456789ABCDEF"[b&15], '>'})] = 3 + b
	}
	for i, w := range []string{"▁", "a", "b", "▁a", "ab", "▁ab"} {
		vocab[w] = 259 + i
	}
	doc := map[string]any{
		"added_tokens": []map[string]any{
			{"id": 0, "content": "<unk>", "special": true},
			{"id": 1, "content": "<s>", "special": true},
			{"id": 2, "content": "</s>", "special": true},
		},
		"normalizer":    llamaNormalizer(),
		"pre_tokenizer": nil,
		"decoder":       llamaDecoder(),
		"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": []string{"▁ a", "a b", "▁a b"},
			"byte_fallback": true, "unk_token": "<unk>", "fuse_unk": true},
	}
	cfg := []byte(`{"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}`)
	tok, err := FromHFJSON(hfJSON(t, doc), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want []int32
	}{
		{"ab", []int32{1, 264}},                    // ▁ab
		{"ab a", []int32{1, 264, 262}},             // ▁ab ▁a
		{"é", []int32{1, 259, 3 + 0xC3, 3 + 0xA9}}, // ▁ then byte fallback
	}
	for _, tc := range tests {
		got := tok.Encode(tc.text, true, false)
		if !equalIDs(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
		}
		if back := string(tok.Decode(got)); back != tc.text {
			t.Errorf("Decode(%v) = %q, want %q", got, back, tc.text)
		}
	}
	if tok.UNK() != 0 || tok.Attr(0)&AttrUnknown == 0 || tok.Attr(3)&AttrByte == 0 {
		t.Errorf("unk %d attr %b, byte attr %b", tok.UNK(), tok.Attr(0), tok.Attr(3))
	}
}

func TestHFErrors(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false},
			"decoder":       map[string]any{"type": "ByteLevel"},
			"model":         map[string]any{"type": "BPE", "vocab": byteLevelVocab(), "merges": []string{}},
		}
	}
	tests := []struct {
		name string
		edit func(map[string]any)
		raw  string
		want string
	}{
		{name: "bad json", raw: `{"model": `, want: "tokenizer.json"},
		{name: "wordpiece", edit: func(d map[string]any) { d["model"].(map[string]any)["type"] = "WordPiece" }, want: `"WordPiece"`},
		{name: "unigram", edit: func(d map[string]any) { d["model"] = map[string]any{"type": "Unigram", "vocab": [][]any{{"a", 0.0}}} }, want: `"Unigram"`},
		{name: "normalizer", edit: func(d map[string]any) { d["normalizer"] = map[string]any{"type": "Lowercase"} }, want: `"Lowercase"`},
		{name: "pre-tokenizer", edit: func(d map[string]any) { d["pre_tokenizer"] = map[string]any{"type": "Whitespace"} }, want: `"Whitespace"`},
		{name: "split removed", edit: func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "a"}, "behavior": "Removed"}
		}, want: "Removed"},
		{name: "decoder mismatch", edit: func(d map[string]any) { d["decoder"] = map[string]any{"type": "Metaspace"} }, want: "decoder"},
		{name: "no byte fallback", edit: func(d map[string]any) { d["pre_tokenizer"] = nil; d["decoder"] = nil }, want: "byte_fallback"},
		{name: "bad regex", edit: func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "(unclosed"}, "behavior": "Isolated"},
				map[string]any{"type": "ByteLevel", "use_regex": false}}}
		}, want: "unclosed"},
		{name: "id gap", edit: func(d map[string]any) {
			d["added_tokens"] = []map[string]any{{"id": 1 << 30, "content": "<big>", "special": true}}
		}, want: "1073741824"},
		{name: "bad merge", edit: func(d map[string]any) { d["model"].(map[string]any)["merges"] = []string{"ab"} }, want: `"ab"`},
		{name: "bos not in vocab", raw: "", want: "bos_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var js, cfg []byte
			switch {
			case tc.raw != "":
				js = []byte(tc.raw)
			case tc.name == "bos not in vocab":
				js = hfJSON(t, base())
				cfg = []byte(`{"bos_token": "<nope>"}`)
			default:
				d := base()
				tc.edit(d)
				js = hfJSON(t, d)
			}
			_, err := FromHFJSON(js, cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %s", err, tc.want)
			}
		})
	}
	// Duplicate tokens in vocab: JSON objects can repeat keys.
	js := []byte(`{"pre_tokenizer": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"},
		"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "a": 2}, "merges": []}}`)
	if _, err := FromHFJSON(js, nil); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate vocab key: %v", err)
	}
}

// ggufVocab reads the raw tokenizer arrays of a test vocabulary.
func ggufVocab(t *testing.T, name string) (tokens []string, types []int32, scores []float32, merges []string) {
	t.Helper()
	loadVocab(t, name) // skips when absent
	f, err := gguf.Open(filepath.Join(vocabDir, "ggml-vocab-"+name+".gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tokens, _ = f.Strings("tokenizer.ggml.tokens")
	types, _ = f.Int32s("tokenizer.ggml.token_type")
	scores, _ = f.Float32s("tokenizer.ggml.scores")
	merges, _ = f.Strings("tokenizer.ggml.merges")
	return
}

// TestHFFromGGUFVocabs converts two GGUF vocabularies to tokenizer.json
// and checks that both tokenize every test string the same way.
func TestHFFromGGUFVocabs(t *testing.T) {
	t.Run("gpt-2", func(t *testing.T) {
		tokens, types, _, merges := ggufVocab(t, "gpt-2")
		vocab := map[string]int{}
		var added []map[string]any
		for i, w := range tokens {
			vocab[w] = i
			if types[i] == int32(TypeControl) {
				added = append(added, map[string]any{"id": i, "content": w, "special": true})
			}
		}
		js := hfJSON(t, map[string]any{
			"added_tokens":  added,
			"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
			"decoder":       map[string]any{"type": "ByteLevel"},
			"model":         map[string]any{"type": "BPE", "vocab": vocab, "merges": merges},
		})
		compareHF(t, "gpt-2", js)
	})
	t.Run("llama-spm", func(t *testing.T) {
		tokens, types, scores, _ := ggufVocab(t, "llama-spm")
		js := spmToHF(t, tokens, types, scores)
		compareHF(t, "llama-spm", js)
	})
}

// spmToHF builds a Llama-2 style tokenizer.json from an SPM vocabulary,
// deriving merges from the scores the way Hugging Face's converter does:
// every split of a piece into two pieces, ordered by the piece's score.
func spmToHF(t *testing.T, tokens []string, types []int32, scores []float32) []byte {
	t.Helper()
	vocab := map[string]int{}
	for i, w := range tokens {
		vocab[w] = i
	}
	type merge struct {
		l, r  string
		score float32
	}
	var merges []merge
	for i, w := range tokens {
		if types[i] != int32(TypeNormal) {
			continue
		}
		var local []merge
		for j := range w {
			if j == 0 {
				continue
			}
			l, r := w[:j], w[j:]
			li, lok := vocab[l]
			ri, rok := vocab[r]
			if lok && rok && types[li] == int32(TypeNormal) && types[ri] == int32(TypeNormal) {
				local = append(local, merge{l, r, scores[i]})
			}
		}
		sort.SliceStable(local, func(a, b int) bool {
			if vocab[local[a].l] != vocab[local[b].l] {
				return vocab[local[a].l] < vocab[local[b].l]
			}
			return vocab[local[a].r] < vocab[local[b].r]
		})
		merges = append(merges, local...)
	}
	sort.SliceStable(merges, func(a, b int) bool { return merges[a].score > merges[b].score })
	lines := make([]string, len(merges))
	for i, m := range merges {
		lines[i] = m.l + " " + m.r
	}
	var added []map[string]any
	for i, w := range tokens {
		if types[i] == int32(TypeControl) || types[i] == int32(TypeUnknown) {
			added = append(added, map[string]any{"id": i, "content": w, "special": true})
		}
	}
	return hfJSON(t, map[string]any{
		"added_tokens":  added,
		"normalizer":    llamaNormalizer(),
		"pre_tokenizer": nil,
		"decoder":       llamaDecoder(),
		"model":         map[string]any{"type": "BPE", "vocab": vocab, "merges": lines, "byte_fallback": true, "unk_token": "<unk>", "fuse_unk": true},
	})
}

func compareHF(t *testing.T, name string, js []byte) {
	t.Helper()
	ref := loadVocab(t, name)
	hf, err := FromHFJSON(js, nil)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	cases := readVocabCases(t, name)
	for i, c := range cases {
		want := ref.Encode(c.text, false, false)
		got := hf.Encode(c.text, false, false)
		if !equalIDs(got, want) {
			t.Errorf("case %d %q:\n tokenizer.json %v\n gguf           %v", i, c.text, got, want)
			continue
		}
		if utf8.ValidString(c.text) {
			if back := string(hf.Decode(got)); back != c.text {
				t.Errorf("case %d: Decode = %q, want %q", i, back, c.text)
			}
		}
		same++
	}
	t.Logf("%s: %d/%d strings tokenized the same from tokenizer.json", name, same, len(cases))
}
