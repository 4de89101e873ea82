package grammar

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// jsonGBNF is a JSON grammar in GBNF, in the style of llama.cpp's
// grammars/json.gbnf.
const jsonGBNF = `# any JSON object
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
`

func TestGBNFMatch(t *testing.T) {
	tests := []struct {
		name, src string
		good, bad []string
	}{
		{"json", jsonGBNF,
			[]string{`{}`, `{"a": [1, -2.5e3, "x\n", true, null, {}]}`, "{\n  \"k\": \"héllo\"\n}"},
			[]string{`[]`, `{"a":}`, `{"a":1,}`, `{'a':1}`}},
		{"classes", `root ::= [a-c]+ [^a-z0-9] [\u00e9\U0001F600] "\x41" .`,
			[]string{"abc!éA.", "a-😀Aé"},
			[]string{"abc!eA.", "d!éA.", "ab9éA.", "a!éA"}},
		{"repetition", "root ::= \"x\"{2} \"y\"{1,3} \"z\"{2,} ( \"a\" | \"b\" )? \"!\"*",
			[]string{"xxyzz", "xxyyyzzzzb!!", "xxyzza"},
			[]string{"xyzz", "xxyyyyzz", "xxyz", "xxyzzab"}},
		{"multiline alternates", "root ::= a |\n  b   # comment\na ::= \"A\"\nb ::= \"B\" | \"\"\n",
			[]string{"A", "B", ""}, []string{"AB", "C"}},
		{"escapes", `root ::= "\"\\\t\n\r" [\]\-\[]`,
			[]string{"\"\\\t\n\r]", "\"\\\t\n\r-", "\"\\\t\n\r["}, []string{"\"\\\t\n\r\\"}},
		{"arithmetic", "root ::= expr\nexpr ::= term ((\"+\" | \"-\") term)*\nterm ::= factor ((\"*\" | \"/\") factor)*\nfactor ::= [0-9]+ | \"(\" expr \")\"\n",
			[]string{"1+2*3", "(1+2)*3", "((4))/5-6"}, []string{"1+", "(1", "1**2", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ParseGBNF(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.good {
				if !g.Match([]byte(s)) {
					t.Errorf("rejected %q", s)
				}
			}
			for _, s := range tt.bad {
				if g.Match([]byte(s)) {
					t.Errorf("accepted %q", s)
				}
			}
		})
	}
}

func TestGBNFErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`expr ::= "a"`, "no root"},
		{"root ::= item\n", `"item" is used at 1:10 but never defined`},
		{"root ::= \"a\"\nroot ::= \"b\"", "defined twice"},
		{`root ::= "abc`, "unterminated string"},
		{`root ::= [abc`, "unterminated character class"},
		{`root ::= ("a" | "b"`, "unbalanced ("},
		{`root ::= * "a"`, "without anything to repeat"},
		{`root ::= "a"{3,1}`, "max below min"},
		{`root ::= "a"{5000}`, "repetition count"},
		{`root ::= "\q"`, `unknown escape \q`},
		{`root ::= "\u12"`, `\u escape`},
		{`root ::= "\ud800"`, `bad \u escape`},
		{`root ::= [z-a]`, "empty character range"},
		{`root ::= <think> "a"`, "token matches"},
		{`root = "a"`, "expected ::="},
		{"root ::= \"a\" )", "1:14: unexpected"},
		{"root ::= root \"a\" | \"b\"", "left-recursive"},
		{`root ::= x` + "\nx ::= x", "no finite value"},
		{"root ::= \"a\"\n\n  ::= \"b\"", "3:3: expected a rule name"},
	}
	for _, tt := range tests {
		_, err := ParseGBNF(tt.src)
		if err == nil {
			t.Errorf("%q: parsed, want error with %q", tt.src, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "grammar: gbnf: ") {
			t.Errorf("%q: error %q, want it to contain %q", tt.src, err, tt.want)
		}
	}
}

// TestGBNFGenerate drives generation over a real vocabulary with a GBNF
// grammar; the JSON grammar's outputs must be valid JSON objects.
func TestGBNFGenerate(t *testing.T) {
	v := loadVocab(t, "gpt-2")
	for seed := range 5 {
		c, err := NewGBNF(jsonGBNF, v)
		if err != nil {
			t.Fatal(err)
		}
		_, text := generate(t, c, v, rand.New(rand.NewPCG(uint64(seed), 3)))
		text = bytes.TrimRight(text, " \n\t")
		var obj map[string]any
		if err := json.Unmarshal(text, &obj); err != nil {
			t.Fatalf("output %q: %v", text, err)
		}
	}
}

// FuzzParseGBNF feeds arbitrary text to the GBNF parser: no panics, and a
// grammar it accepts must match the strings sampled from it.
func FuzzParseGBNF(f *testing.F) {
	f.Add(jsonGBNF)
	f.Add("root ::= [a-z]+ (\",\" [a-z]+)*\n")
	f.Add(`root ::= "\x41"{2,3} . [^\n]?`)
	f.Fuzz(func(t *testing.T, src string) {
		g, err := ParseGBNF(src)
		if err != nil {
			return
		}
		rng := rand.New(rand.NewPCG(uint64(len(src)), 2))
		for range 3 {
			out := sample(g, rng, 32)
			if out == nil {
				t.Fatalf("sampling got stuck; grammar:\n%s", g)
			}
			if !g.Match(out) {
				t.Fatalf("sample %q does not match", out)
			}
		}
	})
}
