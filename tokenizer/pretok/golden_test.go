package pretok

import (
	"encoding/json"
	flagpkg "flag"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testdata/golden.json holds how Python's `regex` module (the engine of
// the original tokenizers' Python code, and the semantics Hugging Face
// follows) splits a set of inputs with every type's patterns. It is an
// independent check of both the hand-written splitters and regexp2.

var update = flagpkg.Bool("update", false, "write testdata/golden_input.json for gen_golden.py")

type goldenPattern struct {
	Pattern string `json:"pattern"` // as in the table
	Py      string `json:"py"`      // as Python's regex module needs it
}

type goldenFile struct {
	Generator string                     `json:"generator,omitempty"`
	Types     map[string][]goldenPattern `json:"types"`
	Inputs    []string                   `json:"inputs"`
	Splits    map[string][]string        `json:"splits,omitempty"` // chunk end offsets, space-separated
	Same      map[string]string          `json:"same,omitempty"`   // type -> type with the same patterns and splits
}

// pyPattern rewrites the two patterns whose syntax or meaning differs in
// Python's regex module.
func pyPattern(p string) string {
	switch p {
	case patKimiK2:
		// Class subtraction is [..--..] in regex's version 1 syntax.
		return "(?V1)" + strings.ReplaceAll(p, `-[\p{Han}]]`, `--\p{Han}]`)
	case patTinyAyaDigits:
		// \b after a digit, with regexp2's word characters (Python's \w
		// also has all marks and \p{Alphabetic}); see digitGroups.
		return `\d{1,3}(?=(?:\d{3})*(?![\p{L}\p{Mn}\p{Nd}\p{Pc}\u200c\u200d]))`
	}
	return p
}

func goldenTypes() map[string][]goldenPattern {
	out := map[string][]goldenPattern{}
	for typ, td := range types {
		for _, p := range td.patterns {
			out[typ] = append(out[typ], goldenPattern{p, pyPattern(p)})
		}
	}
	return out
}

func writeGoldenInput(t *testing.T) {
	inputs := slices.Concat(trickyInputs, vocabTestInputs(t))
	rng := rand.New(rand.NewPCG(42, 42))
	for range 80 {
		inputs = append(inputs, randomInput(rng, 14, false))
	}
	for range 20 {
		inputs = append(inputs, randomRunes(rng, 20))
	}
	slices.Sort(inputs)
	inputs = slices.Compact(inputs)
	data, err := json.MarshalIndent(goldenFile{Types: goldenTypes(), Inputs: inputs}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "golden_input.json"), append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGolden(t *testing.T) {
	if *update {
		writeGoldenInput(t)
		t.Skip("wrote testdata/golden_input.json; now run python3 testdata/gen_golden.py")
	}
	data, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	want := goldenTypes()
	for _, typ := range slices.Sorted(maps.Keys(want)) {
		if !slices.Equal(g.Types[typ], want[typ]) {
			t.Errorf("testdata/golden.json is stale for type %s: regenerate it (see gen_golden.py)", typ)
			continue
		}
		sp, err := types[typ].splitter()
		if err != nil {
			t.Fatal(err)
		}
		rows := g.Splits[typ]
		if other, ok := g.Same[typ]; ok {
			rows = g.Splits[other]
		}
		if len(rows) != len(g.Inputs) {
			t.Fatalf("type %s: %d splits for %d inputs", typ, len(rows), len(g.Inputs))
		}
		for i, in := range g.Inputs {
			got := sp.Split(nil, in)
			if ends := chunkEnds(got); ends != rows[i] {
				t.Errorf("type %s on %q:\n got  %q\n want %q", typ, in, got, chunksAt(in, rows[i]))
			}
		}
	}
}

func chunkEnds(chunks []string) string {
	var b strings.Builder
	n := 0
	for i, c := range chunks {
		n += len(c)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

func chunksAt(text, ends string) []string {
	var out []string
	prev := 0
	for _, f := range strings.Fields(ends) {
		e, err := strconv.Atoi(f)
		if err != nil || e < prev || e > len(text) {
			return []string{"<bad offsets " + ends + ">"}
		}
		out = append(out, text[prev:e])
		prev = e
	}
	return out
}
