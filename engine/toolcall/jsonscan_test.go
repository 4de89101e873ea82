package toolcall

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestScanValue(t *testing.T) {
	cases := []struct {
		in          string
		n           int
		open, final scanStatus // without and with final
	}{
		{`{}`, 2, scanDone, scanDone},
		{`[]`, 2, scanDone, scanDone},
		{`[[], {}, [1]]`, 13, scanDone, scanDone},
		{`{"a": [1, 2.5e-3, -0, true, false, null, "x\"\u00e9"]}`, 54, scanDone, scanDone},
		{`{"a":1} tail`, 7, scanDone, scanDone},
		{`  {"a":1}`, 9, scanDone, scanDone},
		{`"str"x`, 5, scanDone, scanDone},
		{`123abc`, 3, scanDone, scanDone},
		{`123`, 3, scanMore, scanDone},
		{`-1.5E+10`, 8, scanMore, scanDone},
		{`-`, 0, scanMore, scanBad},
		{`1.`, 0, scanMore, scanBad},
		{`1e`, 0, scanMore, scanBad},
		{`1e+`, 0, scanMore, scanBad},
		{`[1`, 0, scanMore, scanBad},
		{`tru`, 0, scanMore, scanBad},
		{`{"a"`, 0, scanMore, scanBad},
		{`{"a":`, 0, scanMore, scanBad},
		{`"\u12`, 0, scanMore, scanBad},
		{``, 0, scanMore, scanBad},
		{`   `, 0, scanMore, scanBad},
		{`trux`, 0, scanBad, scanBad},
		{`{"a" 1}`, 0, scanBad, scanBad},
		{`[1,]`, 0, scanBad, scanBad},
		{`[,1]`, 0, scanBad, scanBad},
		{`{,}`, 0, scanBad, scanBad},
		{`{"a":1,}`, 0, scanBad, scanBad},
		{`{1:2}`, 0, scanBad, scanBad},
		{`01`, 1, scanDone, scanDone}, // the value is 0; "1" follows it
		{`[01]`, 0, scanBad, scanBad},
		{`"\x"`, 0, scanBad, scanBad},
		{"\"a\nb\"", 0, scanBad, scanBad},
		{`'a'`, 0, scanBad, scanBad},
		{`]`, 0, scanBad, scanBad},
		{strings.Repeat("[", maxJSONDepth+1), 0, scanBad, scanBad},
		{strings.Repeat("[", maxJSONDepth), 0, scanMore, scanBad},
	}
	for _, c := range cases {
		for _, final := range []bool{false, true} {
			want := c.open
			if final {
				want = c.final
			}
			n, st := scanValue(c.in, final)
			if st != want || (st == scanDone && n != c.n) {
				t.Errorf("scanValue(%q, %v) = %d, %v; want %d, %v", c.in, final, n, st, c.n, want)
			}
		}
	}
}

// randomJSON builds a random JSON document.
func randomJSON(rng *rand.Rand, depth int) any {
	k := rng.IntN(8)
	if depth > 3 {
		k = rng.IntN(5)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return rng.NormFloat64() * 1e3
	case 3:
		return rng.IntN(1000) - 500
	case 4:
		return []string{"", "a", "é\"\\\n\t", "😀", "</tool_call>"}[rng.IntN(5)]
	case 5, 6:
		m := map[string]any{}
		for i := rng.IntN(4); i > 0; i-- {
			m[string(rune('a'+rng.IntN(5)))] = randomJSON(rng, depth+1)
		}
		return m
	}
	var a []any
	for i := rng.IntN(4); i > 0; i-- {
		a = append(a, randomJSON(rng, depth+1))
	}
	if a == nil {
		return []any{}
	}
	return a
}

// TestScanAgreesWithEncodingJSON checks the scanner against encoding/json:
// on documents and their prefixes, fed whole and byte by byte.
func TestScanAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 2000; i++ {
		b, err := json.Marshal(randomJSON(rng, 0))
		if err != nil {
			t.Fatal(err)
		}
		if rng.IntN(2) == 0 {
			if b, err = json.MarshalIndent(json.RawMessage(b), "", " "); err != nil {
				t.Fatal(err)
			}
		}
		doc := string(b)
		if n, st := scanValue(doc, true); st != scanDone || n != len(doc) {
			t.Fatalf("%s: %d, %v", doc, n, st)
		}
		// Every proper prefix of a container is unfinished; a number's
		// prefix may be a finished number.
		var js jsonScanner
		for k := 0; k < len(doc); k++ {
			js.scan(doc[:k])
			_, st := js.result(false)
			if want := scanMore; st != want {
				t.Fatalf("prefix %q of %s: %v, want %v", doc[:k], doc, st, want)
			}
			if _, st2 := scanValue(doc[:k], false); st2 != st {
				t.Fatalf("prefix %q: resumed scan %v, whole scan %v", doc[:k], st, st2)
			}
		}
		js.scan(doc)
		if n, st := js.result(true); st != scanDone || n != len(doc) {
			t.Fatalf("%s resumed: %d, %v", doc, n, st)
		}
	}
	// Random byte soup: scanDone over the whole text exactly when it is
	// valid JSON.
	alphabet := []string{"{", "}", "[", "]", ",", ":", " ", `"`, `\`, "u", "0", "1", "-", ".", "e", "+", "t", "r", "u", "e", "n", "l", "a", "\n"}
	for i := 0; i < 50000; i++ {
		var sb strings.Builder
		for k := rng.IntN(12); k >= 0; k-- {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := sb.String()
		n, st := scanValue(s, true)
		whole := st == scanDone && strings.TrimLeft(s[n:], " \n") == ""
		if whole != json.Valid([]byte(s)) {
			t.Fatalf("%q: scan %d %v, json.Valid %v", s, n, st, json.Valid([]byte(s)))
		}
	}
}
