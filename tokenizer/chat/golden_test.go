package chat

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The vectors in testdata/golden come from testdata/gen/chat/render.py, which
// renders every template with Python Jinja2 as Hugging Face's
// apply_chat_template does. Regenerate them with
//
//	python3 testdata/gen/chat/render.py
//
// from the repository root after changing a conversation or a template.

// sharedTemplates is where the real models' templates live (read-only
// reference data beside the repository).
var sharedTemplates = filepath.Join("..", "..", "..", "shared", "testdata", "templates")

// knownDivergences lists the template × conversation pairs where owl's
// rendering and Python Jinja2's disagree: Jinja2 raises and owl renders,
// owl fails and Jinja2 renders, or both render different text. The test
// checks that each pair still diverges, so that a fix shows up here.
//
// It is empty: the engine's own differences from Jinja2 that these
// templates met (Markup + str escaping in Functionary v3.1, tojson of
// map()'s generator in llama.cpp's DeepSeek R1, str + None in Phi-3.5, an
// attribute of undefined in Command R+, "undefined is iterable" in Hermes)
// are made good by owl's rewrite of the template (rewrite.go, pyops.go);
// snippets_test.go lists what the rewrite cannot reach.
var knownDivergences = map[string]string{}

type goldenFile struct {
	Template string `json:"template"`
	Source   string `json:"source"` // shared, local or default
	SHA256   string `json:"sha256"`
	BOS      string `json:"bos_token"`
	EOS      string `json:"eos_token"`
	Now      string `json:"now"`
	Caps     struct {
		StringContent   bool `json:"string_content"`
		TypedContent    bool `json:"typed_content"`
		StringArguments bool `json:"string_arguments"`
		ObjectArguments bool `json:"object_arguments"`
	} `json:"caps"`
	Cases []goldenCase `json:"cases"`
}

type goldenCase struct {
	Conversation string          `json:"conversation"`
	Extra        json.RawMessage `json:"extra"`
	Output       *string         `json:"output"`
	Error        *struct {
		Type    string `json:"type"` // raise_exception, or the Python exception's class
		Message string `json:"message"`
	} `json:"error"`
}

type conversation struct {
	AddGenerationPrompt bool            `json:"add_generation_prompt"`
	Messages            json.RawMessage `json:"messages"`
	Tools               json.RawMessage `json:"tools"`
}

func loadConversations(t testing.TB) map[string]conversation {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "conversations", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conversations in testdata/conversations (%v)", err)
	}
	convs := make(map[string]conversation)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c conversation
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		convs[strings.TrimSuffix(filepath.Base(f), ".json")] = c
	}
	return convs
}

func loadGolden(t testing.TB, path string) goldenFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return g
}

// goldenTemplate loads the template a golden file was made from and checks
// that it is still the same text.
func goldenTemplate(t testing.TB, g goldenFile) *Template {
	t.Helper()
	var src string
	switch g.Source {
	case "default":
		src = Default().Source()
	case "local", "shared":
		dir := filepath.Join("testdata", "templates")
		if g.Source == "shared" {
			dir = sharedTemplates
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("shared chat templates not available at %s: %v", dir, err)
			}
		}
		data, err := os.ReadFile(filepath.Join(dir, g.Template))
		if err != nil {
			t.Fatal(err)
		}
		src = string(data)
	default:
		t.Fatalf("unknown template source %q", g.Source)
	}
	if sum := sha256.Sum256([]byte(src)); hex.EncodeToString(sum[:]) != g.SHA256 {
		t.Fatalf("%s changed since the vectors were made; rerun testdata/gen/chat/render.py", g.Template)
	}
	if g.Source == "default" {
		return Default()
	}
	tmpl, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%s): %v", g.Template, err)
	}
	return tmpl
}

func TestGolden(t *testing.T) {
	convs := loadConversations(t)
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in testdata/golden (%v)", err)
	}
	for key := range knownDivergences {
		name, conv, _ := strings.Cut(key, "/")
		if !goldenHasCase(t, filepath.Join("testdata", "golden", name+".json"), conv) {
			t.Errorf("knownDivergences names %s, which no vector covers", key)
		}
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			g := loadGolden(t, f)
			tmpl := goldenTemplate(t, g)
			got := tmpl.Caps()
			if got.StringContent != g.Caps.StringContent || got.TypedContent != g.Caps.TypedContent ||
				got.StringArguments != g.Caps.StringArguments || got.ObjectArguments != g.Caps.ObjectArguments {
				t.Errorf("Caps() = %+v, Python's probes found %+v", got, g.Caps)
			}
			now, err := time.Parse("2006-01-02T15:04:05", g.Now)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Cases) != len(convs) {
				t.Errorf("%d cases for %d conversations; rerun testdata/gen/chat/render.py", len(g.Cases), len(convs))
			}
			for _, c := range g.Cases {
				conv, ok := convs[c.Conversation]
				if !ok {
					t.Errorf("vectors name conversation %q, which testdata/conversations lacks", c.Conversation)
					continue
				}
				key := name + "/" + c.Conversation
				t.Run(c.Conversation, func(t *testing.T) {
					out, err := tmpl.RenderJSON(conv.Messages, conv.Tools, Options{
						AddGenerationPrompt: conv.AddGenerationPrompt,
						BOS:                 g.BOS,
						EOS:                 g.EOS,
						Extra:               c.Extra,
						Now:                 func() time.Time { return now },
					})
					checkCase(t, key, c, out, err)
				})
			}
		})
	}
}

func goldenHasCase(t *testing.T, path, conv string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	for _, c := range loadGolden(t, path).Cases {
		if c.Conversation == conv {
			return true
		}
	}
	return false
}

func checkCase(t *testing.T, key string, c goldenCase, out string, err error) {
	t.Helper()
	if reason, known := knownDivergences[key]; known {
		same := false
		switch {
		case c.Output != nil:
			same = err == nil && out == *c.Output
		case c.Error != nil:
			same = err != nil && sameErrorKind(err, c.Error.Type)
		}
		if same {
			t.Fatalf("Go now agrees with Python; drop %s from knownDivergences", key)
		}
		t.Logf("known divergence (%s)", reason)
		return
	}
	switch {
	case c.Output != nil:
		if err != nil {
			t.Fatalf("Python rendered it, Go failed: %v", err)
		}
		if out != *c.Output {
			t.Fatalf("output differs from Python Jinja2:\n%s", diffText(*c.Output, out))
		}
	case c.Error != nil && c.Error.Type == "raise_exception":
		var te *TemplateError
		if !errors.As(err, &te) {
			t.Fatalf("Python: template raised %q; Go: err = %v, output %q", c.Error.Message, err, out)
		}
		if te.Message != c.Error.Message {
			t.Fatalf("template raised %q, Python's raised %q", te.Message, c.Error.Message)
		}
	case c.Error != nil:
		// Python's and Go's messages differ; failing is what matters, and
		// where Go names a Python exception (pyops.go), it must be Python's.
		if err == nil {
			t.Fatalf("Python raised %s: %s; Go rendered %q", c.Error.Type, c.Error.Message, out)
		}
		if !sameErrorKind(err, c.Error.Type) {
			t.Fatalf("Python raised %s: %s; Go failed otherwise: %v", c.Error.Type, c.Error.Message, err)
		}
	default:
		t.Fatal("vector has neither output nor error")
	}
}

// sameErrorKind reports whether err, when it names a Python exception class
// as owl's helpers do ("TypeError: ..."), names pyType.
func sameErrorKind(err error, pyType string) bool {
	msg := err.Error()
	for _, kind := range []string{"TypeError: ", "UndefinedError: ", "OverflowError: "} {
		if strings.Contains(msg, kind) {
			return strings.Contains(msg, pyType+": ")
		}
	}
	return true
}

// diffText shows where got first departs from want, line by line, with a
// little context.
func diffText(want, got string) string {
	wl := strings.SplitAfter(want, "\n")
	gl := strings.SplitAfter(got, "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d (want %d bytes, got %d)\n", i+1, len(want), len(got))
	for k := max(0, i-2); k < i; k++ {
		fmt.Fprintf(&b, "   %q\n", wl[k])
	}
	for k := i; k < min(i+3, len(wl)); k++ {
		fmt.Fprintf(&b, " - %q\n", wl[k])
	}
	for k := i; k < min(i+3, len(gl)); k++ {
		fmt.Fprintf(&b, " + %q\n", gl[k])
	}
	return b.String()
}
