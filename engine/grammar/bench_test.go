package grammar

import (
	"testing"
)

// BenchmarkMask measures one Mask over a real vocabulary at points of a
// JSON generation: the start of an object, inside a free string (the
// worst case: almost every token continues it), inside a number, and
// after a key. "cold" builds a fresh constraint each time, so its state
// tables start empty (the first step of a request).
func BenchmarkMask(b *testing.B) {
	schema := []byte(`{"type":"object","properties":{"name":{"type":"string"},"n":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}}},"required":["name","n","tags"],"additionalProperties":false}`)
	points := []struct{ name, prefix string }{
		{"start", ``},
		{"string", `{"name":"some text`},
		{"number", `{"name":"x","n":12`},
		{"key", `{"name":"x","n":1,`},
	}
	for _, vocab := range []string{"gpt-2", "deepseek-llm"} {
		v := loadVocab(b, vocab)
		g, err := CompileJSONSchema(schema)
		if err != nil {
			b.Fatal(err)
		}
		logits := make([]float32, v.VocabSize())
		for _, p := range points {
			c, err := New(g, v)
			if err != nil {
				b.Fatal(err)
			}
			for _, id := range v.Encode(p.prefix, false, false) {
				if err := c.Accept(id); err != nil {
					b.Fatal(err)
				}
			}
			b.Run(vocab+"/"+p.name, func(b *testing.B) {
				for b.Loop() {
					c.Mask(logits)
				}
				b.ReportMetric(float64(c.allowedCount()), "allowed")
			})
		}
		b.Run(vocab+"/cold-string", func(b *testing.B) {
			ids := v.Encode(points[1].prefix, false, false)
			for b.Loop() {
				c, _ := New(g, v)
				for _, id := range ids {
					c.Accept(id)
				}
				c.Mask(logits)
			}
		})
	}
}
