package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// knownSnippetDivergences lists the snippets (testdata/snippets/cases.json)
// that the engine, even with owl's rewrite (rewrite.go), still computes
// differently from Jinja2. The test checks that each still diverges.
var knownSnippetDivergences = map[string]string{
	// The rewrite tracks Markup only within one expression.
	"markup_in_variable": "a Markup value kept in a variable is a plain string",
	// Python's ints are unbounded; the engine's are int64 (owl fails
	// rather than wrap).
	"int_overflow": "int64 arithmetic",
	// The engine's tuples are lists with a flag owl cannot set, so a sum
	// of tuples is a list.
	"tuple_plus_tuple": "tuple + tuple gives a list",
	// A generator kept in a variable is a list to the engine; the rewrite
	// sees only map(...)|tojson written out.
	"map_in_variable_tojson": "a generator kept in a variable is a list",
}

type snippetCase struct {
	Name     string  `json:"name"`
	Template string  `json:"template"`
	Output   *string `json:"output"`
	Error    *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestSnippets renders the small templates that pin down Jinja2's semantics
// where the engine needs owl's rewrite, and compares with Python's results
// (testdata/gen/chat/render.py writes them).
func TestSnippets(t *testing.T) {
	var spec struct {
		Context json.RawMessage `json:"context"`
		Cases   []struct {
			Name     string `json:"name"`
			Template string `json:"template"`
		} `json:"cases"`
	}
	readJSON(t, filepath.Join("testdata", "snippets", "cases.json"), &spec)
	var want []snippetCase
	readJSON(t, filepath.Join("testdata", "snippets", "expected.json"), &want)
	if len(want) != len(spec.Cases) {
		t.Fatalf("%d expected results for %d snippets; rerun testdata/gen/chat/render.py", len(want), len(spec.Cases))
	}
	seen := make(map[string]bool)
	for i, c := range want {
		if c.Name != spec.Cases[i].Name || c.Template != spec.Cases[i].Template {
			t.Fatalf("snippet %d is %s %q, expected.json has %s %q; rerun testdata/gen/chat/render.py",
				i, spec.Cases[i].Name, spec.Cases[i].Template, c.Name, c.Template)
		}
		seen[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			tmpl, err := Parse(c.Template)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tmpl.RenderJSON([]byte(`[]`), nil, Options{Extra: spec.Context})
			same := false
			switch {
			case c.Output != nil:
				same = err == nil && out == *c.Output
			case c.Error != nil:
				same = err != nil && sameErrorKind(err, c.Error.Type)
			}
			if reason, known := knownSnippetDivergences[c.Name]; known {
				if same {
					t.Fatalf("Go now agrees with Python; drop %s from knownSnippetDivergences", c.Name)
				}
				t.Logf("known divergence (%s)", reason)
				return
			}
			if same {
				return
			}
			if c.Output != nil {
				t.Fatalf("%s: Python rendered %q; Go: %q, %v", c.Template, *c.Output, out, err)
			}
			t.Fatalf("%s: Python raised %s: %s; Go: %q, %v", c.Template, c.Error.Type, c.Error.Message, out, err)
		})
	}
	for name := range knownSnippetDivergences {
		if !seen[name] {
			t.Errorf("knownSnippetDivergences names %s, which no snippet has", name)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
