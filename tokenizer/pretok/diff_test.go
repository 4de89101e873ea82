package pretok

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The hand-written and simple splitters must split exactly as regexp2
// running the same pattern does.

func diffInputs(t *testing.T, seed uint64) []string {
	n := 1500
	if testing.Short() {
		n = 200
	}
	inputs := slices.Concat(trickyInputs, invalidInputs, vocabTestInputs(t))
	rng := rand.New(rand.NewPCG(seed, 7))
	for range n {
		inputs = append(inputs, randomInput(rng, 12, true))
	}
	for range n / 10 {
		inputs = append(inputs, randomRunes(rng, 1+rng.IntN(30)))
	}
	// Long whitespace runs around the cascade sizes of Jais 2.
	for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 65, 127, 128, 257, 511, 512, 513, 1030} {
		sp := strings.Repeat(" ", k)
		mixed := strings.Repeat(" \u3000\t", k/3+1)
		inputs = append(inputs, "x"+sp+"y", sp, "x"+sp, sp+"y", "x"+mixed+"y", mixed, "a"+sp+"\n"+sp+"b")
	}
	return inputs
}

// tablePatterns returns every pattern of the table and of fastPatterns.
func tablePatterns() []string {
	seen := map[string]bool{}
	var pats []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			pats = append(pats, p)
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		for _, p := range types[typ].patterns {
			add(p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(fastPatterns)) {
		add(p)
	}
	// More of the simple subset, as tokenizer.json files may have them.
	for _, p := range simpleExtra {
		add(p)
	}
	return pats
}

var simpleExtra = []string{
	"\u2581[^\u2581]*", `\s+`, `[^\s]+`, ` ?\p{L}+| ?\p{N}+`, `[a-z]{2,4}`, `x?y`,
	`\p{Lu}\p{Ll}*`, `[\p{Lt}\p{Lm}\p{Lo}]+`, `\p{M}|\p{Han}{2}`, `\d\d`, `[^\p{L}\p{N}\s]`, `\.\.\.|\?`,
}

func TestDifferentialPatterns(t *testing.T) {
	inputs := diffInputs(t, 1)
	nFast := 0
	for _, pat := range tablePatterns() {
		fast, err := compileOne(pat, true)
		if err != nil {
			t.Fatalf("compile %q: %v", pat, err)
		}
		if _, ok := fast.(regexSplitter); ok {
			continue // no fast path: nothing to compare
		}
		nFast++
		ref, err := compileOne(pat, false)
		if err != nil {
			t.Fatalf("regexp2 compile %q: %v", pat, err)
		}
		for _, in := range inputs {
			got, want := fast.Split(nil, in), ref.Split(nil, in)
			if !slices.Equal(got, want) {
				t.Fatalf("pattern %q on %q:\n fast    %q\n regexp2 %q", pat, in, got, want)
			}
		}
	}
	// Every pattern but a handful has a fast path.
	if nFast < 40 {
		t.Errorf("only %d patterns have a fast path", nFast)
	}
}

func TestDifferentialTypes(t *testing.T) {
	inputs := diffInputs(t, 2)
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		td := types[typ]
		fast, err := td.splitter()
		if err != nil {
			t.Fatal(err)
		}
		ref, err := compile(td.patterns, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range inputs {
			got, want := fast.Split(nil, in), ref.Split(nil, in)
			if !slices.Equal(got, want) {
				t.Fatalf("type %s on %q:\n fast    %q\n regexp2 %q", typ, in, got, want)
			}
		}
	}
}

// TestSimpleCompiled checks that the simple patterns of the table do get
// the simple compiler, so they are covered by the differential test above
// rather than silently left to regexp2.
func TestSimpleCompiled(t *testing.T) {
	for _, pat := range []string{
		patNewline, patDigit, patDigits, patDigits3, patASCII3, patLines, patNonSpace, patCJKDeep, patCJKKana,
		patPunctDflt, patPunctFal, patDeepseekLetters, patDeepseekPunct, patDeepseekCoderL, patDeepseekCoderP,
		patPoro, patYoutuCJK, patAFMoECJK, patChameleonPunct,
	} {
		if _, ok := parseSimple(pat); !ok {
			t.Errorf("parseSimple(%q) failed", pat)
		}
	}
	for _, pat := range simpleExtra {
		if _, ok := parseSimple(pat); !ok {
			t.Errorf("parseSimple(%q) failed", pat)
		}
	}
	for _, pat := range []string{
		patChameleonSentinel, patChameleonImage, patChameleonSpace, patJais2, patSpark25, patExaoneMoE, patGPT4o,
		`a*`, `\s+$`, `(a)+`, `a+?`, `a++`, `\p{Nope}+`, `[a-[b]]`, `\w+`, `.+`, `\P{L}`, `a{2,1}`, `a?b*`, `ab+c`, `a+b`, `'?[a-zA-Z]{0,3}`,
	} {
		if _, ok := parseSimple(pat); ok {
			t.Errorf("parseSimple(%q) accepted a pattern outside the subset", pat)
		}
	}
}
