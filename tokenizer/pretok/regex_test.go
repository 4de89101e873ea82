package pretok

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestRewritePossessive(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`abc`, `abc`},
		{`a++`, `(?>a+)`},
		{`a*+b?+c{2,3}+`, `(?>a*)(?>b?)(?>c{2,3})`},
		{`[^\r\n\p{L}\p{N}]?+\p{L}+`, `(?>[^\r\n\p{L}\p{N}]?)\p{L}+`},
		{` ?[^\s\p{L}\p{N}]++[\r\n]*`, ` ?(?>[^\s\p{L}\p{N}]+)[\r\n]*`},
		{`(ab)*+c`, `(?>(ab)*)c`},
		{`(a++b)++`, `(?>((?>a+)b)+)`},
		{`x\++`, `x\++`},
		{`x\+++`, `x(?>\++)`},
		{`\p{L}{1,3}+`, `(?>\p{L}{1,3})`},
		{`a+?b`, `a+?b`},
		{`[+]+`, `[+]+`},
		{`[]+]++`, `(?>[]+]+)`},
		{`[a-[b]]++`, `(?>[a-[b]]+)`},
		{`a|b++|c`, `a|(?>b+)|c`},
		{`a{+`, `a{+`},
	} {
		got, err := rewritePossessive(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("rewritePossessive(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`a)++`, `[abc++`} {
		if _, err := rewritePossessive(bad); err == nil {
			t.Errorf("rewritePossessive(%q): no error", bad)
		}
	}
}

func TestRegexErrors(t *testing.T) {
	if _, err := Regex(); err == nil {
		t.Error("Regex(): no error")
	}
	for _, pats := range [][]string{
		{""},
		{"("},
		{`\p{Nope}+`},
		{`\s+`, `[a-`},
		{`a)++`},
	} {
		_, err := Regex(pats...)
		if err == nil {
			t.Errorf("Regex(%q): no error", pats)
			continue
		}
		if !strings.HasPrefix(err.Error(), "pretok: ") {
			t.Errorf("Regex(%q): error %q lacks the package prefix", pats, err)
		}
	}
}

// TestRegexTokenizerJSON checks that the patterns as tokenizer.json files
// write them split like the table's types, and run on the fast splitters.
func TestRegexTokenizerJSON(t *testing.T) {
	for _, tc := range []struct {
		pre      string
		patterns []string
	}{
		{"gpt-2", []string{PatternByteLevel}},
		{"llama3", []string{patLlama3HF}},
		{"llama3", []string{patCl100k}},
		{"qwen2", []string{patQwen2HF}},
		{"qwen35", []string{patQwen35HF}},
		{"bailingmoe", []string{patBailingHF}},
		{"gpt-4o", []string{patGPT4oHF}},
	} {
		sp, err := Regex(tc.patterns...)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := sp.(scanner); !ok {
			t.Errorf("Regex(%q) is %T, not a hand-written splitter", tc.patterns, sp)
		}
		spec, err := Lookup(tc.pre)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 3))
		for i := range 500 {
			in := randomInput(rng, 12, true)
			if i < len(trickyInputs) {
				in = trickyInputs[i]
			}
			if got, want := sp.Split(nil, in), spec.Split.Split(nil, in); !slices.Equal(got, want) {
				t.Fatalf("Regex(%q) on %q = %q; %s gives %q", tc.patterns, in, got, tc.pre, want)
			}
		}
	}
}

// TestRegexGeneral runs patterns that have no fast path.
func TestRegexGeneral(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		text     string
		want     []string
	}{
		{[]string{`\d+`}, "ab12cd345", []string{"ab", "12", "cd", "345"}},
		{[]string{`(?=\d)`}, "a1b2", []string{"a", "1b", "2"}},
		{[]string{`x*`}, "axxb", []string{"a", "xx", "b"}},
		{[]string{` `, `[A-Z]`}, "Hi There", []string{"H", "i", " ", "T", "here"}},
		{[]string{`\w+(?=!)`}, "wow! no", []string{"wow", "! no"}},
		{[]string{`(?i:hello)`}, "HeLLo world", []string{"HeLLo", " world"}},
		{[]string{`[^\s]++`}, "ab cd", []string{"ab", " ", "cd"}},
	} {
		sp, err := Regex(tc.patterns...)
		if err != nil {
			t.Fatal(err)
		}
		if got := sp.Split(nil, tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("Regex(%q) on %q = %q, want %q", tc.patterns, tc.text, got, tc.want)
		}
	}
}
