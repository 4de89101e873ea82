package grammar

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// sample walks g byte by byte with random choices, the later ones
// steering to the nearest completion, and returns a complete string (nil
// when the walk gives up, which a well-formed grammar never makes it do).
func sample(g *Grammar, rng *rand.Rand, budget int) []byte {
	m := newMachine(g)
	s := m.start()
	out := []byte{} // non-nil: empty is a fine result
	next := make([]int32, len(g.classRep))
	for len(out) < budget+4096 {
		if m.accepting(s) && (len(out) >= budget || rng.IntN(16) == 0) {
			return out
		}
		var choices []uint8
		best, bestRem := uint8(0), -1
		for c := range g.classRep {
			t := m.step(s, uint8(c))
			next[c] = t
			if t == 0 {
				continue
			}
			choices = append(choices, uint8(c))
			if r := m.remaining(t); bestRem < 0 || r < bestRem {
				best, bestRem = uint8(c), r
			}
		}
		if len(choices) == 0 {
			if m.accepting(s) {
				return out
			}
			return nil
		}
		c := best
		if len(out) < budget && rng.IntN(3) != 0 {
			c = choices[rng.IntN(len(choices))]
		}
		out = append(out, g.classRep[c])
		s = next[c]
	}
	return nil
}

// FuzzCompileSchema feeds arbitrary documents to the schema compiler. It
// must never panic or hang; when it compiles a schema, strings sampled
// from the grammar must be complete, valid JSON and validate against the
// schema. The seed corpus is in testdata/fuzz/FuzzCompileSchema.
func FuzzCompileSchema(f *testing.F) {
	for _, s := range genSchemas {
		f.Add([]byte(s.schema))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := CompileJSONSchema(data)
		if err != nil {
			return
		}
		schema, err := parseJSON(data)
		if err != nil {
			t.Fatalf("compiled a schema that does not parse: %v", err)
		}
		rng := rand.New(rand.NewPCG(uint64(len(data)), 1))
		for range 4 {
			out := sample(g, rng, 64)
			if out == nil {
				t.Fatalf("sampling got stuck; grammar:\n%s", g)
			}
			if !g.Match(out) {
				t.Fatalf("sample %q does not match its grammar", out)
			}
			if !json.Valid(out) {
				t.Fatalf("sample %q is not valid JSON", out)
			}
			v, err := parseJSONDup(out, true)
			if err != nil {
				t.Fatalf("sample %q: %v", out, err)
			}
			if err := validate(schema, schema, v, "#"); err != nil {
				t.Fatalf("sample %s does not validate: %v", out, err)
			}
		}
	})
}

// randomSchema builds a random schema of the supported subset, depth
// levels deep at most; defs names $defs entries it may refer to.
func randomSchema(rng *rand.Rand, depth int, defs []string) string {
	leaf := []func() string{
		func() string { return `{"type":"string"}` },
		func() string {
			return fmt.Sprintf(`{"type":"string","minLength":%d,"maxLength":%d}`, rng.IntN(3), 3+rng.IntN(5))
		},
		func() string {
			p := []string{`^[a-z]{1,4}$`, `^\\d+(\\.\\d+)?$`, `x`, `^(ab|cd)*$`, `^[^\"\\\\]{0,3}\"$`, `é|ü`}
			return fmt.Sprintf(`{"type":"string","pattern":"%s"}`, p[rng.IntN(len(p))])
		},
		func() string {
			f := []string{"date", "time", "date-time", "uuid", "ipv4"}
			return fmt.Sprintf(`{"type":"string","format":"%s"}`, f[rng.IntN(len(f))])
		},
		func() string { return `{"type":"integer"}` },
		func() string {
			return fmt.Sprintf(`{"type":"integer","minimum":%d,"maximum":%d}`, -rng.IntN(300), rng.IntN(5000))
		},
		func() string { return fmt.Sprintf(`{"type":"integer","exclusiveMinimum":%d}`, rng.IntN(100)-50) },
		func() string { return `{"type":"number"}` },
		func() string {
			return fmt.Sprintf(`{"type":"number","minimum":%g,"exclusiveMaximum":%g}`, -rng.Float64()*10, rng.Float64()*100)
		},
		func() string { return `{"type":"boolean"}` },
		func() string { return `{"type":"null"}` },
		func() string { return `{"enum":["a","b\"",1,2.5,null,true,{"k":[1]},[]]}` },
		func() string { return `{"const":"fixed é"}` },
		func() string { return `{"type":["string","integer","null"]}` },
		func() string { return `{}` },
	}
	if depth == 0 || rng.IntN(3) == 0 {
		if len(defs) > 0 && rng.IntN(5) == 0 {
			return fmt.Sprintf(`{"$ref":"#/$defs/%s"}`, defs[rng.IntN(len(defs))])
		}
		return leaf[rng.IntN(len(leaf))]()
	}
	sub := func() string { return randomSchema(rng, depth-1, defs) }
	switch rng.IntN(5) {
	case 0, 1:
		n := rng.IntN(4)
		var props, req []string
		for i := range n {
			name := fmt.Sprintf("p%d", i)
			props = append(props, fmt.Sprintf(`"%s":%s`, name, sub()))
			if rng.IntN(2) == 0 {
				req = append(req, `"`+name+`"`)
			}
		}
		addl := []string{`false`, `true`, sub(), ``}[rng.IntN(4)]
		s := fmt.Sprintf(`{"type":"object","properties":{%s},"required":[%s]`, strings.Join(props, ","), strings.Join(req, ","))
		if addl != "" {
			s += `,"additionalProperties":` + addl
		}
		return s + "}"
	case 2:
		lo := rng.IntN(3)
		s := fmt.Sprintf(`{"type":"array","items":%s,"minItems":%d`, sub(), lo)
		if rng.IntN(2) == 0 {
			s += fmt.Sprintf(`,"maxItems":%d`, lo+rng.IntN(3))
		}
		if rng.IntN(3) == 0 {
			s += fmt.Sprintf(`,"prefixItems":[%s,%s]`, sub(), sub())
		}
		return s + "}"
	case 3:
		return fmt.Sprintf(`{"anyOf":[%s,%s]}`, sub(), sub())
	default:
		return fmt.Sprintf(`{"oneOf":[{"type":"object","properties":{"t":{"const":"a"},"v":%s},"required":["t","v"],"additionalProperties":false},{"type":"object","properties":{"t":{"const":"b"}},"required":["t"]},{"type":"array","items":%s}]}`, sub(), sub())
	}
}

// TestRandomSchemas compiles many random schemas of the supported subset
// and checks that strings sampled from each grammar are valid JSON that
// validates against the schema.
func TestRandomSchemas(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	n := 400
	if testing.Short() {
		n = 100
	}
	for i := range n {
		defs := []string{"d0", "d1"}
		body := randomSchema(rng, 3, defs)
		schema := fmt.Sprintf(`{"$defs":{"d0":%s,"d1":{"type":"array","items":{"$ref":"#/$defs/d0"},"maxItems":2}}`,
			randomSchema(rng, 2, nil))
		if body == `{}` {
			schema += "}"
		} else {
			schema += "," + body[1:]
		}
		g, err := CompileJSONSchema([]byte(schema))
		if err != nil {
			t.Fatalf("schema %d %s: %v", i, schema, err)
		}
		s, _ := parseJSON([]byte(schema))
		for range 3 {
			out := sample(g, rng, 160)
			if out == nil {
				t.Fatalf("schema %s: sampling got stuck", schema)
			}
			v, err := parseJSONDup(out, true)
			if err != nil || !json.Valid(out) {
				t.Fatalf("schema %s: sample %q is not JSON: %v", schema, out, err)
			}
			if err := validate(s, s, v, "#"); err != nil {
				t.Fatalf("schema %s: sample %s does not validate: %v", schema, out, err)
			}
		}
	}
}
