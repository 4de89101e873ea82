package safetensors

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestWriteRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dtypes := []DType{Bool, F4, F6E2M3, U8, I8, F8E4M3, I16, F16, BF16, I32, F32, C64, F64, U64}
	for iter := range 50 {
		var tensors []Tensor
		for i := range rng.IntN(6) {
			d := dtypes[rng.IntN(len(dtypes))]
			shape := make([]int64, rng.IntN(4))
			for j := range shape {
				shape[j] = int64(rng.IntN(5))
			}
			size, problem := tensorBytes(d, shape)
			if problem != "" { // F4/F6 with elements that do not fill bytes
				shape, size = []int64{8}, int64(d.Bits())
			}
			data := make([]byte, size)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			// Names exercising JSON escaping.
			name := []string{"model.layers.0.w", "a\"b\\c", "é/ü", "<html>&", "tab\there", ""}[i]
			tensors = append(tensors, Tensor{Name: name, DType: d, Shape: shape, Data: data})
		}
		var meta map[string]string
		if iter%2 == 0 {
			meta = map[string]string{"format": "pt", "line\nbreak": "q\"uote", "z": ""}
		}
		var buf bytes.Buffer
		if err := Write(&buf, meta, tensors); err != nil {
			t.Fatal(err)
		}
		if (buf.Len()-8-len(concat(tensors)))%8 != 0 {
			t.Errorf("header length %d is not a multiple of 8", buf.Len()-8-len(concat(tensors)))
		}
		f, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		if got := f.Metadata(); !reflect.DeepEqual(got, meta) {
			t.Errorf("Metadata = %v, want %v", got, meta)
		}
		got := f.Tensors()
		if len(got) != len(tensors) {
			t.Fatalf("%d tensors, want %d", len(got), len(tensors))
		}
		for i, w := range tensors {
			g := got[i]
			ti, data, err := f.Tensor(w.Name)
			if err != nil {
				t.Fatal(err)
			}
			if g.Name != w.Name || g.DType != w.DType || !reflect.DeepEqual(g.Shape, nonNil(w.Shape)) || !reflect.DeepEqual(ti, g) || !bytes.Equal(data, w.Data) {
				t.Errorf("tensor %d = %+v % x, want %+v", i, g, data, w)
			}
		}
	}
}

func nonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

func concat(ts []Tensor) []byte {
	var out []byte
	for _, t := range ts {
		out = append(out, t.Data...)
	}
	return out
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	ok := Tensor{Name: "a", DType: F32, Shape: []int64{1}, Data: make([]byte, 4)}
	for _, tc := range []struct {
		name    string
		meta    map[string]string
		tensors []Tensor
		msg     string
	}{
		{"duplicate name", nil, []Tensor{ok, ok}, `tensor "a": name reserved or used twice`},
		{"reserved name", nil, []Tensor{{Name: "__metadata__", DType: U8}}, "reserved"},
		{"invalid dtype", nil, []Tensor{{Name: "x", Shape: []int64{1}, Data: []byte{0}}}, "invalid dtype"},
		{"negative dim", nil, []Tensor{{Name: "x", DType: U8, Shape: []int64{-1}}}, "negative dimension"},
		{"data too short", nil, []Tensor{{Name: "x", DType: F32, Shape: []int64{2}, Data: make([]byte, 7)}}, "needs 8 bytes, not 7"},
		{"half byte", nil, []Tensor{{Name: "x", DType: F4, Shape: []int64{1}, Data: make([]byte, 1)}}, "do not fill whole bytes"},
		{"overflow", nil, []Tensor{{Name: "x", DType: F32, Shape: []int64{1 << 40, 1 << 40}}}, "too many elements"},
		{"invalid UTF-8 name", nil, []Tensor{{Name: "\xff", DType: U8, Data: []byte{0}}}, "UTF-8"},
		{"invalid UTF-8 metadata", map[string]string{"k": "\xff"}, nil, "UTF-8"},
	} {
		var buf bytes.Buffer
		err := Write(&buf, tc.meta, tc.tensors)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.msg)
		}
	}
	for n := range 3 {
		if err := Write(&failWriter{n: n}, nil, []Tensor{ok}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("writer failing after %d writes: error %v", n, err)
		}
	}
}
