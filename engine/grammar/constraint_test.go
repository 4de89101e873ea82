package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/tokenizer"
)

// vocabDir holds the shared GGUF vocabularies, beside the repository.
const vocabDir = "../../../shared/testdata/vocab"

var vocabCache sync.Map // name → *tokenizer.Tokenizer

// loadVocab opens a shared test vocabulary; the test is skipped when the
// shared test data is absent.
func loadVocab(tb testing.TB, name string) *tokenizer.Tokenizer {
	tb.Helper()
	if v, ok := vocabCache.Load(name); ok {
		return v.(*tokenizer.Tokenizer)
	}
	path := filepath.Join(vocabDir, "ggml-vocab-"+name+".gguf")
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("vocabulary %s not available: %v", path, err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		tb.Fatal(err)
	}
	vocabCache.Store(name, tok)
	return tok
}

// Schemas that generation is tested on; each output must validate.
var genSchemas = []struct {
	name, schema string
}{
	{"person", `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"height":{"type":"number"},"member":{"type":"boolean"},"nick":{"type":["string","null"]}},"required":["name","age","height","member","nick"],"additionalProperties":false}`},
	{"nested", `{"type":"object","properties":{
		"id":{"type":"integer","minimum":1,"maximum":999},
		"address":{"type":"object","properties":{"street":{"type":"string","maxLength":12},"city":{"enum":["Paris","Tōkyō","New \"York\""]},"geo":{"type":"object","properties":{"lat":{"type":"number"},"lon":{"type":"number"}},"required":["lat","lon"],"additionalProperties":false}},"required":["street","city","geo"],"additionalProperties":false},
		"tags":{"type":"array","items":{"enum":["a","b","c"]},"minItems":1,"maxItems":3}},
		"required":["id","address","tags"],"additionalProperties":false}`},
	{"array bounds", `{"type":"array","items":{"type":"object","properties":{"k":{"type":"string","minLength":1,"maxLength":4},"v":{"type":"integer"}},"required":["k","v"],"additionalProperties":false},"minItems":2,"maxItems":4}`},
	{"enum const", `{"type":"object","properties":{"color":{"enum":["red","green",7,null,true]},"kind":{"const":"fixed"},"unit":{"type":"string","enum":["cm","in"]}},"required":["color","kind","unit"],"additionalProperties":false}`},
	{"anyOf", `{"type":"object","properties":{"value":{"anyOf":[{"type":"string"},{"type":"integer"},{"type":"null"},{"type":"object","properties":{"x":{"type":"boolean"}},"required":["x"],"additionalProperties":false}]}},"required":["value"],"additionalProperties":false}`},
	{"oneOf disjoint", `{"oneOf":[{"type":"object","properties":{"type":{"const":"circle"},"r":{"type":"number"}},"required":["type","r"],"additionalProperties":false},{"type":"object","properties":{"type":{"const":"square"},"side":{"type":"integer"}},"required":["type","side"],"additionalProperties":false}]}`},
	{"ref tree", `{"$defs":{"node":{"type":"object","properties":{"label":{"type":"string","maxLength":5},"children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["label","children"],"additionalProperties":false}},"$ref":"#/$defs/node"}`},
	{"strings", `{"type":"object","properties":{"free":{"type":"string"},"short":{"type":"string","minLength":2,"maxLength":5},"code":{"type":"string","pattern":"^[A-Z]{2}-[0-9]{3}$"},"day":{"type":"string","format":"date"},"at":{"type":"string","format":"date-time"},"id":{"type":"string","format":"uuid"}},"required":["free","short","code","day","at","id"],"additionalProperties":false}`},
	{"numbers", `{"type":"object","properties":{"i":{"type":"integer"},"r":{"type":"integer","minimum":-20,"exclusiveMaximum":20},"n":{"type":"number"},"p":{"type":"number","minimum":0,"maximum":1},"t":{"type":"number","exclusiveMinimum":-273.15,"maximum":1e3},"b":{"type":"boolean"},"z":{"type":"null"},"list":{"type":"array","items":{"type":"number"}}},"required":["i","r","n","p","t","b","z","list"],"additionalProperties":false}`},
	{"optional", `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},"required":["b"]}`},
	{"map", `{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":{"type":"integer"}}`},
	{"tuple", `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"},{"type":"boolean"}],"items":false,"minItems":3}`},
	{"any value", `{}`},
	{"object", `{"type":"object"}`},
}

// genStats counts features seen in generated outputs, to check that
// random generation exercised them.
type genStats struct {
	escapes, nonASCII, whitespace, outputs int
}

// generate drives c with random logits until it completes, and returns the
// generated token ids and their text. Some steps (and all steps after a
// budget) pick the allowed token that leaves the least to complete, so
// that generation ends; bias makes tokens with rarely chosen bytes more
// likely. It fails the test on any inconsistency between Mask and Accept.
func generate(tb testing.TB, c *Constraint, v *tokenizer.Tokenizer, rng *rand.Rand) ([]int32, []byte) {
	tb.Helper()
	n := v.VocabSize()
	logits := make([]float32, n+7) // models may pad their output
	bias := make([]float32, n)
	for id := range n {
		p := v.Piece(int32(id))
		if bytes.IndexByte(p, '\\') >= 0 || bytes.ContainsFunc(p, func(r rune) bool { return r >= 0x80 }) {
			bias[id] = 3
		}
	}
	var ids []int32
	var text []byte
	const budget, limit = 40, 1500
	for step := 0; ; step++ {
		if step == limit {
			tb.Fatalf("not complete after %d tokens: %q", limit, text)
		}
		for i := range logits {
			logits[i] = float32(rng.NormFloat64())
			if i < n {
				logits[i] += bias[i]
			}
		}
		c.Mask(logits)
		for i := n; i < len(logits); i++ {
			if !math.IsInf(float64(logits[i]), -1) {
				tb.Fatalf("logit %d past the vocabulary not masked", i)
			}
		}
		var id int32 = -1
		if step >= budget || rng.IntN(3) == 0 {
			id = closest(c, logits)
		} else {
			best := float32(math.Inf(-1))
			for i, l := range logits {
				if l > best {
					best, id = l, int32(i)
				}
			}
		}
		if id < 0 || math.IsInf(float64(logits[id]), -1) {
			tb.Fatalf("no token allowed after %q", text)
		}
		if err := c.Accept(id); err != nil {
			tb.Fatalf("Accept(%d %q) after %q: %v", id, v.Piece(id), text, err)
		}
		if v.IsEOG(id) {
			break
		}
		ids = append(ids, id)
		text = append(text, v.Piece(id)...)
		if c.Done() {
			break
		}
	}
	return ids, text
}

// closest picks, among allowed tokens, one that leaves the fewest bytes to
// complete (end of generation when complete), the highest logit among
// ties.
func closest(c *Constraint, logits []float32) int32 {
	if c.Complete() {
		for _, id := range c.ix.eog {
			if !math.IsInf(float64(logits[id]), -1) {
				return id
			}
		}
	}
	best, bestRem := int32(-1), math.MaxInt
	for i, l := range logits[:c.ix.size] {
		if math.IsInf(float64(l), -1) || c.ix.isEOG[i] {
			continue
		}
		s := c.peek(int32(i))
		if s == 0 {
			continue
		}
		r := c.m.remaining(s)
		if r < bestRem || (r == bestRem && l > logits[best]) {
			best, bestRem = int32(i), r
		}
	}
	return best
}

// checkOutput validates a generated text against the schema.
func checkOutput(tb testing.TB, schema string, text []byte, st *genStats) {
	tb.Helper()
	if !json.Valid(text) {
		tb.Fatalf("output is not valid JSON: %q", text)
	}
	var anyV any
	if err := json.Unmarshal(text, &anyV); err != nil {
		tb.Fatalf("output %q: %v", text, err)
	}
	out, err := parseJSONDup(text, true)
	if err != nil {
		tb.Fatalf("output %q: %v", text, err)
	}
	if schema != "" {
		s, err := parseJSON([]byte(schema))
		if err != nil {
			tb.Fatal(err)
		}
		if err := validate(s, s, out, "#"); err != nil {
			tb.Fatalf("output %s does not validate: %v", text, err)
		}
	}
	st.outputs++
	if bytes.IndexByte(text, '\\') >= 0 {
		st.escapes++
	}
	if bytes.ContainsFunc(text, func(r rune) bool { return r >= 0x80 }) {
		st.nonASCII++
	}
	if bytes.ContainsAny(text, " \n") {
		st.whitespace++
	}
}

// TestGenerateSchemas drives generation with random logits over real
// vocabularies for many schemas: every output must parse as JSON and
// validate against its schema, and Decode of the tokens must give the
// same text.
func TestGenerateSchemas(t *testing.T) {
	vocabs := []struct {
		name string
		runs int // generations per schema
	}{{"gpt-2", 6}, {"llama-spm", 3}, {"phi-3", 1}, {"deepseek-llm", 1}, {"starcoder", 1}, {"falcon", 1}, {"mpt", 1}}
	if testing.Short() {
		vocabs = vocabs[:2]
	}
	var st genStats
	for _, vc := range vocabs {
		t.Run(vc.name, func(t *testing.T) {
			v := loadVocab(t, vc.name)
			for si, sc := range genSchemas {
				g, err := CompileJSONSchema([]byte(sc.schema))
				if err != nil {
					t.Fatalf("%s: %v", sc.name, err)
				}
				for run := range vc.runs {
					rng := rand.New(rand.NewPCG(uint64(si), uint64(run)))
					c, err := New(g, v)
					if err != nil {
						t.Fatal(err)
					}
					ids, text := generate(t, c, v, rng)
					if d := v.Decode(ids); !bytes.Equal(d, text) {
						t.Fatalf("%s: Decode gives %q, pieces %q", sc.name, d, text)
					}
					if !g.Match(text) {
						t.Fatalf("%s: grammar rejects its own output %q", sc.name, text)
					}
					checkOutput(t, sc.schema, text, &st)
				}
			}
			c, err := NewJSONObject(v)
			if err != nil {
				t.Fatal(err)
			}
			_, text := generate(t, c, v, rand.New(rand.NewPCG(7, 7)))
			checkOutput(t, `{"type":"object"}`, text, &st)
			if text[0] != '{' {
				t.Fatalf("json_object output %q is not an object", text)
			}
		})
	}
	t.Logf("%d outputs: %d with escapes, %d with non-ASCII text, %d with whitespace", st.outputs, st.escapes, st.nonASCII, st.whitespace)
	if st.outputs > 20 && (st.escapes == 0 || st.nonASCII == 0) {
		t.Errorf("random generation never produced escapes (%d) or non-ASCII text (%d)", st.escapes, st.nonASCII)
	}
}

// TestMaskMatchesAccept checks on a real vocabulary that Mask allows
// exactly the tokens Accept takes, at many points of a generation.
func TestMaskMatchesAccept(t *testing.T) {
	v := loadVocab(t, "gpt-2")
	schemas := []string{genSchemas[1].schema, genSchemas[7].schema, `{"type":"object"}`}
	logits := make([]float32, v.VocabSize())
	for si, schema := range schemas {
		g, err := CompileJSONSchema([]byte(schema))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(si), 99))
		c, _ := New(g, v)
		_, text := generate(t, c, v, rng)
		// Replay the text byte by byte through a fresh constraint, checking
		// the mask at a few points against Accept on every token.
		c2, _ := New(g, v)
		ids := v.Encode(string(text), false, false)
		checked := 0
		for i, id := range ids {
			if i%7 == 0 {
				for j := range logits {
					logits[j] = 0
				}
				c2.Mask(logits)
				for tid := range logits {
					allowed := !math.IsInf(float64(logits[tid]), -1)
					var ok bool
					if v.IsEOG(int32(tid)) {
						ok = c2.Complete()
					} else {
						ok = c2.ix.usable[tid] && c2.peek(int32(tid)) != 0
					}
					if allowed != ok {
						t.Fatalf("after %d tokens, token %d %q: Mask allows %v, Accept %v", i, tid, v.Piece(int32(tid)), allowed, ok)
					}
				}
				checked++
			}
			if err := c2.Accept(id); err != nil {
				t.Fatalf("replay token %d %q: %v", i, v.Piece(id), err)
			}
		}
		if !c2.Complete() {
			t.Fatalf("replay of %q is not complete", text)
		}
		if checked == 0 {
			t.Fatal("nothing checked")
		}
	}
}

func TestAcceptErrors(t *testing.T) {
	v := loadVocab(t, "gpt-2")
	c, err := NewJSONSchema([]byte(`{"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"],"additionalProperties":false}`), v)
	if err != nil {
		t.Fatal(err)
	}
	tokID := func(s string) int32 {
		ids := v.Encode(s, false, false)
		if len(ids) != 1 {
			t.Fatalf("%q is %d tokens", s, len(ids))
		}
		return ids[0]
	}
	eos := v.EOS()
	if err := c.Accept(eos); !errors.Is(err, ErrIncomplete) {
		t.Errorf("EOS at start: %v, want ErrIncomplete", err)
	}
	if err := c.Accept(tokID("[")); !errors.Is(err, ErrRejected) {
		t.Errorf("'[': %v, want ErrRejected", err)
	}
	if err := c.Accept(-1); !errors.Is(err, ErrRejected) {
		t.Errorf("-1: %v, want ErrRejected", err)
	}
	if err := c.Accept(int32(v.VocabSize())); !errors.Is(err, ErrRejected) {
		t.Errorf("out of range: %v, want ErrRejected", err)
	}
	for _, s := range []string{"{\"", "a", "\":", "true", "}"} {
		if c.Done() {
			t.Fatal("done too early")
		}
		if err := c.Accept(tokID(s)); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	if !c.Done() || !c.Complete() || c.Remaining() != 0 {
		t.Fatalf("Done %v Complete %v Remaining %d after a complete object", c.Done(), c.Complete(), c.Remaining())
	}
	logits := make([]float32, v.VocabSize())
	c.Mask(logits)
	for id, l := range logits {
		if allowed := !math.IsInf(float64(l), -1); allowed != v.IsEOG(int32(id)) {
			t.Fatalf("after completion token %d %q allowed=%v", id, v.Piece(int32(id)), allowed)
		}
	}
	if err := c.Accept(eos); err != nil {
		t.Fatal(err)
	}
	if err := c.Accept(tokID("a")); !errors.Is(err, ErrRejected) {
		t.Errorf("token after EOS: %v", err)
	}
}

// TestRemaining checks Remaining against the shortest completions.
func TestRemaining(t *testing.T) {
	v := loadVocab(t, "gpt-2")
	c, err := NewJSONSchema([]byte(`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"array","items":{"type":"integer"},"minItems":2}},"required":["a","b"],"additionalProperties":false}`), v)
	if err != nil {
		t.Fatal(err)
	}
	// Shortest: {"a":"","b":[0,0]} is 18 bytes.
	if r := c.Remaining(); r != 18 {
		t.Fatalf("Remaining at start = %d, want 18", r)
	}
	for _, id := range v.Encode(`{"a":"xy`, false, false) {
		if err := c.Accept(id); err != nil {
			t.Fatal(err)
		}
	}
	if r := c.Remaining(); r != len(`","b":[0,0]}`) {
		t.Fatalf("Remaining in string = %d, want %d", r, len(`","b":[0,0]}`))
	}
}

// fakeVocab is a vocabulary given as pieces.
type fakeVocab struct {
	pieces  []string
	eog     map[int32]bool
	control map[int32]bool
	unk     int32
}

func (f *fakeVocab) VocabSize() int          { return len(f.pieces) }
func (f *fakeVocab) Piece(id int32) []byte   { return []byte(f.pieces[id]) }
func (f *fakeVocab) IsEOG(id int32) bool     { return f.eog[id] }
func (f *fakeVocab) IsControl(id int32) bool { return f.control[id] }
func (f *fakeVocab) UNK() int32              { return f.unk }

func TestControlAndEmptyTokens(t *testing.T) {
	v := &fakeVocab{
		pieces:  []string{"<s>", "</s>", "", "{", "}", "{}", "<|im_start|>", `"`, "a", "{"},
		eog:     map[int32]bool{1: true},
		control: map[int32]bool{0: true, 6: true},
		unk:     9, // an unknown token's text is dropped by decoding
	}
	c, err := NewJSONObject(v)
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, len(v.pieces))
	c.Mask(logits)
	var allowed []string
	for id, l := range logits {
		if !math.IsInf(float64(l), -1) {
			allowed = append(allowed, v.pieces[id])
		}
	}
	if want := []string{"{", "{}"}; !slicesEqual(allowed, want) {
		t.Fatalf("allowed %q, want %q", allowed, want)
	}
	if err := c.Accept(0); !errors.Is(err, ErrRejected) {
		t.Fatalf("control token accepted: %v", err)
	}
	if err := c.Accept(2); !errors.Is(err, ErrRejected) {
		t.Fatalf("empty token accepted: %v", err)
	}
	if err := c.Accept(9); !errors.Is(err, ErrRejected) {
		t.Fatalf("unknown token accepted: %v", err)
	}
	if err := c.Accept(3); err != nil {
		t.Fatal(err)
	}
	// A vocabulary that cannot spell what comes next allows nothing.
	v2 := &fakeVocab{pieces: []string{"x", "</s>"}, eog: map[int32]bool{1: true}, unk: -1}
	c2, _ := NewJSONObject(v2)
	logits = make([]float32, 2)
	c2.Mask(logits)
	if !math.IsInf(float64(logits[0]), -1) || !math.IsInf(float64(logits[1]), -1) {
		t.Fatalf("dead end mask %v, want nothing allowed", logits)
	}
	if err := c2.Accept(1); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("EOG at dead end: %v, want ErrIncomplete", err)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCompact forces the state tables past their bounds and checks that
// the constraint carries on correctly.
func TestCompact(t *testing.T) {
	v := loadVocab(t, "gpt-2")
	g := JSONObject()
	c, _ := New(g, v)
	text := []byte(`{"a":[[[{"b":"c`)
	for _, id := range v.Encode(string(text), false, false) {
		if err := c.Accept(id); err != nil {
			t.Fatal(err)
		}
		// Simulate bound overflow: rebuild every step.
		c.state = c.m.compact(c.state)
	}
	rest := []byte(`"}]],1]}`)
	for _, id := range v.Encode(string(rest), false, false) {
		logits := make([]float32, v.VocabSize())
		c.Mask(logits)
		if math.IsInf(float64(logits[id]), -1) {
			t.Fatalf("token %q masked after compaction", v.Piece(id))
		}
		if err := c.Accept(id); err != nil {
			t.Fatal(err)
		}
		c.state = c.m.compact(c.state)
	}
	if !c.Done() {
		t.Fatal("not done")
	}
}

// TestConcurrentConstraints runs constraints on one grammar and vocabulary
// from several goroutines (run with -race).
func TestConcurrentConstraints(t *testing.T) {
	v := loadVocab(t, "gpt-2")
	g, err := CompileJSONSchema([]byte(genSchemas[1].schema))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	texts := make([][]byte, 4)
	for i := range texts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := New(g, v)
			if err != nil {
				t.Error(err)
				return
			}
			_, texts[i] = generate(t, c, v, rand.New(rand.NewPCG(uint64(i), 5)))
		}()
	}
	wg.Wait()
	for _, text := range texts {
		var st genStats
		checkOutput(t, genSchemas[1].schema, text, &st)
	}
}
