package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ardanlabs/jinja"
)

// allTemplateSources returns every template the tests know: the shared
// models' templates, owl's test templates and the default.
func allTemplateSources(t testing.TB) map[string]string {
	srcs := map[string]string{"chatml": Default().Source()}
	var files []string
	for _, dir := range []string{sharedTemplates, filepath.Join("testdata", "templates")} {
		fs, _ := filepath.Glob(filepath.Join(dir, "*.jinja"))
		files = append(files, fs...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[filepath.Base(f)] = string(data)
	}
	return srcs
}

// TestRewriteTemplates checks that the rewrite takes every expression of
// every known template whole (none is left to the engine's semantics) and
// that the engine compiles the result.
func TestRewriteTemplates(t *testing.T) {
	for name, src := range allTemplateSources(t) {
		rw, stats := rewrite(src)
		if len(stats.Skipped) > 0 {
			t.Errorf("%s: expressions left as written: %q", name, stats.Skipped)
		}
		if stats.Parsed == 0 {
			t.Errorf("%s: no expression found", name)
		}
		if _, err := jinja.Compile(rw); err != nil {
			t.Errorf("%s: rewritten template does not compile: %v", name, err)
		}
	}
}

func TestRewriteText(t *testing.T) {
	tests := []struct{ src, want string }{
		// Jinja2's precedence: ~ binds tighter than +.
		{"{{ a + b ~ c }}", "{{ __owl_add(a, b ~ c) }}"},
		{"{{- 'x' + y -}}", "{{- __owl_add('x', y) -}}"},
		{"{{ (a + b) * 2 }}", "{{ (__owl_add(a, b)) * 2 }}"},
		{"{{ a+b+c }}", "{{ __owl_add(__owl_add(a, b), c) }}"},
		{"{{ 'a'|safe + s + t|e }}", "{{ __owl_add_markup(__owl_add_markup('a'|safe, s, true, false), t|e, true, true) }}"},
		{"{{ m.a.b }}", "{{ ((m|__owl_defined('m')).a|__owl_defined).b }}"},
		{"{{ m['a'][0:2] }}", "{{ ((m|__owl_defined('m'))['a']|__owl_defined)[0:2] }}"},
		{"{{ s.strip() }}", "{{ (s|__owl_defined('s')).strip() }}"},
		{"{{ f(x).y }}", "{{ (f(x)|__owl_defined).y }}"},
		{"{{ x is iterable }}{{ x is not sequence }}", "{{ (x|__owl_is_iterable) }}{{ (not (x|__owl_is_iterable)) }}"},
		{"{{ x is defined }}", "{{ x is defined }}"},
		{"{{ l|map(attribute='f')|tojson(indent=2) }}", "{{ l|map(attribute='f')|__owl_iterator('tojson')|tojson(indent=2) }}"},
		{"{{ l|map(attribute='f')|list|tojson }}", "{{ l|map(attribute='f')|list|tojson }}"},
		{"{% for x in xs if x %}{% endfor %}", "{% for x in __owl_for(xs) if x %}{% endfor %}"},
		{"{% for k, v in d|items recursive %}{% endfor %}", "{% for k, v in __owl_for(d|items) recursive %}{% endfor %}"},
		{"{% for x in 1, 2 %}{% endfor %}", "{% for x in 1, 2 %}{% endfor %}"},
		{"{% set ns.n = ns.n + 1 %}", "{% set ns.n = __owl_add((ns|__owl_defined('ns')).n, 1) %}"},
		{"{% if a + b %}{% elif c.d %}{% endif %}", "{% if __owl_add(a, b) %}{% elif (c|__owl_defined('c')).d %}{% endif %}"},
		// Not rewritten: comments, raw blocks, other statements, strings.
		{"{# a + b #}{% raw %}{{ a + b }}{% endraw %}", "{# a + b #}{% raw %}{{ a + b }}{% endraw %}"},
		{"{% macro m(a=x.y) %}{% endmacro %}{% set x %}{% endset %}", "{% macro m(a=x.y) %}{% endmacro %}{% set x %}{% endset %}"},
		{"{{ '}} a + b {{' }}", "{{ '}} a + b {{' }}"},
		{"{{ {'a': {'b': 1}} }}", "{{ {'a': {'b': 1}} }}"},
	}
	for _, tc := range tests {
		got, stats := rewrite(tc.src)
		if got != tc.want || len(stats.Skipped) > 0 {
			t.Errorf("rewrite(%q)\n got  %q (skipped %q)\n want %q", tc.src, got, stats.Skipped, tc.want)
		}
	}
	// An expression the parser does not take is left as written.
	for _, src := range []string{"{{ a + }}", "{{ a @ b }}", "{{ a b }}", "{{ " + strings.Repeat("(", 2000) + "a" + strings.Repeat(")", 2000) + " }}"} {
		got, stats := rewrite(src)
		if got != src || len(stats.Skipped) != 1 {
			t.Errorf("rewrite(%.40q) = %.40q, skipped %d", src, got, len(stats.Skipped))
		}
	}
}

// TestProbeHelpersLenient checks that the probes, like render.py's, let
// undefined values through where rendering fails on them.
func TestProbeHelpersLenient(t *testing.T) {
	tmpl := mustParse(t, "{{ missing.attr.more }}|{{ 'a' + missing }}|{{ missing + 1 }}")
	out, err := tmpl.render(jinja.NewList(nil), jinja.Undefined(), Options{}, nil, probeHelpers)
	if err != nil || out != "|a|1" { // as render.py's ProbeUndefined gives
		t.Errorf("probe render = %q, %v; want \"|a|1\"", out, err)
	}
	if _, err := tmpl.RenderJSON([]byte(`[]`), nil, Options{}); err == nil {
		t.Error("render of an attribute of undefined: no error")
	}
}

func TestExtraHelperNames(t *testing.T) {
	_, err := Default().RenderJSON([]byte(`[]`), nil, Options{Extra: json.RawMessage(`{"__owl_add": 1}`)})
	if err == nil || !strings.Contains(err.Error(), "set by the renderer") {
		t.Errorf("err = %v", err)
	}
}

// FuzzRewrite rewrites arbitrary template text: it must not panic, and a
// template the engine compiles must compile rewritten.
func FuzzRewrite(f *testing.F) {
	for _, src := range allTemplateSources(f) {
		f.Add(src)
	}
	f.Add("{{ a + b ~ c|safe + d.e[f] is iterable }}{% for x in y if x.z %}{% set q = r + s %}{% endfor %}")
	f.Fuzz(func(t *testing.T, src string) {
		rw, _ := rewrite(src)
		if _, err := jinja.Compile(src); err != nil {
			return
		}
		if _, err := jinja.Compile(rw); err != nil {
			t.Errorf("compiles, but not rewritten: %v\n%q\n%q", err, src, rw)
		}
	})
}
