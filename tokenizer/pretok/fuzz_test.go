package pretok

import (
	"maps"
	"slices"
	"testing"
)

// FuzzSplit checks, for every type, that splitting never panics and that
// the chunks cover the input; and, on short inputs, that the fast
// splitters agree with regexp2.
func FuzzSplit(f *testing.F) {
	for _, in := range trickyInputs {
		f.Add(in)
	}
	for _, in := range invalidInputs {
		f.Add(in)
	}
	type pair struct {
		name      string
		fast, ref Splitter
	}
	var pairs []pair
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		fast, err := types[typ].splitter()
		if err != nil {
			f.Fatal(err)
		}
		ref, err := compile(types[typ].patterns, false)
		if err != nil {
			f.Fatal(err)
		}
		pairs = append(pairs, pair{typ, fast, ref})
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, p := range pairs {
			got := p.fast.Split(nil, text)
			checkCover(t, p.name, text, got)
			// regexp2 backtracks; keep its inputs short.
			if len(text) <= 256 {
				if want := p.ref.Split(nil, text); !slices.Equal(got, want) {
					t.Fatalf("type %s on %q:\n fast    %q\n regexp2 %q", p.name, text, got, want)
				}
			}
		}
	})
}
