package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// sharedDir is the project's read-only reference data, beside the repository.
const sharedDir = "../../shared/testdata"

// sharedGGUFs lists every .gguf under shared/testdata, skipping the test when
// the folder is absent.
func sharedGGUFs(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"models", "vocab"} {
		m, _ := filepath.Glob(filepath.Join(sharedDir, sub, "*.gguf"))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Skipf("no .gguf files under %s (the shared test data is not checked out beside the repository)", sharedDir)
	}
	return out
}

// buildFile writes a small file with every metadata type and two tensors.
func buildFile(t testing.TB) ([]byte, []KV, []TensorInfo, [][]byte) {
	t.Helper()
	kv := []KV{}
	add := func(k string, x any) {
		v, err := ValueOf(x)
		if err != nil {
			t.Fatal(err)
		}
		kv = append(kv, KV{k, v})
	}
	add("general.architecture", "llama")
	add("general.alignment", uint32(64))
	add("llama.context_length", uint32(4096))
	add("llama.embedding_length", uint64(8))
	add("llama.rope.freq_base", float32(10000))
	add("llama.small", int8(-3))
	add("llama.u8", uint8(200))
	add("llama.u16", uint16(60000))
	add("llama.i16", int16(-200))
	add("llama.i32", int32(-5))
	add("llama.i64", int64(-1)<<40)
	add("llama.f64", 2.5)
	add("llama.flag", true)
	add("tokenizer.ggml.tokens", []string{"<s>", "</s>", "▁hello", ""})
	add("tokenizer.ggml.scores", []float32{0, 0, -1.5, -2})
	add("tokenizer.ggml.token_type", []int32{3, 3, 1, 1})
	add("ints.u16", []uint16{1, 2, 65535})
	add("ints.big", []uint64{1, math.MaxUint64})
	add("floats.f64", []float64{0.5, 1e300})
	add("bools", []bool{true, false})
	nested, _ := ValueOf([]Value{{Type: ValueArray, Elem: ValueInt32, Data: []int32{1, 2}}, {Type: ValueArray, Elem: ValueString, Data: []string{"a"}}})
	kv = append(kv, KV{"nested", nested})

	tensors := []TensorInfo{
		{Name: "a", Dims: []uint64{4, 2}, Type: TypeF32},
		{Name: "b", Dims: []uint64{32}, Type: TypeQ8_0},
	}
	data := [][]byte{make([]byte, 32), make([]byte, 34)}
	for i := range data[0] {
		data[0][i] = byte(i)
	}
	for i := range data[1] {
		data[1][i] = byte(100 + i)
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, kv, tensors)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range data {
		if err := w.WriteTensor(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), kv, tensors, data
}

func TestWriteParse(t *testing.T) {
	file, kv, tensors, data := buildFile(t)
	f, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != 64 || f.DataOffset%64 != 0 {
		t.Errorf("version %d alignment %d data offset %d", f.Version, f.Alignment, f.DataOffset)
	}
	if !reflect.DeepEqual(f.KV, kv) {
		t.Errorf("metadata differs:\n got %v\nwant %v", f.KV, kv)
	}
	if len(f.Tensors) != len(tensors) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(tensors))
	}
	for i, want := range tensors {
		info, b, err := f.Tensor(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(info.Dims, want.Dims) || info.Type != want.Type || info.Offset%64 != 0 {
			t.Errorf("tensor %q: %+v", want.Name, info)
		}
		if !bytes.Equal(b, data[i]) {
			t.Errorf("tensor %q bytes differ", want.Name)
		}
	}
	if _, _, err := f.Tensor("missing"); !errors.Is(err, ErrNoTensor) {
		t.Errorf("missing tensor: err = %v", err)
	}
}

func TestAccessors(t *testing.T) {
	file, _, _, _ := buildFile(t)
	f, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch() != "llama" || f.ArchKey("context_length") != "llama.context_length" {
		t.Errorf("Arch = %q", f.Arch())
	}
	u32 := func(k string) (any, error) { return f.Uint32(k) }
	u64 := func(k string) (any, error) { return f.Uint64(k) }
	i64 := func(k string) (any, error) { return f.Int64(k) }
	f32 := func(k string) (any, error) { return f.Float32(k) }
	str := func(k string) (any, error) { return f.String(k) }
	bl := func(k string) (any, error) { return f.Bool(k) }
	strs := func(k string) (any, error) { return f.Strings(k) }
	f32s := func(k string) (any, error) { return f.Float32s(k) }
	i32s := func(k string) (any, error) { return f.Int32s(k) }
	for _, tc := range []struct {
		name string
		get  func(string) (any, error)
		key  string
		want any
		err  error
	}{
		{"uint32", u32, "llama.context_length", uint32(4096), nil},
		{"uint32 from uint64", u32, "llama.embedding_length", uint32(8), nil},
		{"uint32 from uint8", u32, "llama.u8", uint32(200), nil},
		{"uint32 negative", u32, "llama.small", nil, ErrWrongType},
		{"uint32 overflow", u32, "llama.i64", nil, ErrWrongType},
		{"uint32 of string", u32, "general.architecture", nil, ErrWrongType},
		{"uint32 missing", u32, "llama.nope", nil, ErrKeyNotFound},
		{"uint64", u64, "llama.u16", uint64(60000), nil},
		{"int64", i64, "llama.i64", int64(-1) << 40, nil},
		{"int64 from int16", i64, "llama.i16", int64(-200), nil},
		{"float32", f32, "llama.rope.freq_base", float32(10000), nil},
		{"float32 from float64", f32, "llama.f64", float32(2.5), nil},
		{"float32 of int", f32, "llama.i32", nil, ErrWrongType},
		{"string", str, "general.architecture", "llama", nil},
		{"bool", bl, "llama.flag", true, nil},
		{"bool of int", bl, "llama.u8", nil, ErrWrongType},
		{"strings", strs, "tokenizer.ggml.tokens", []string{"<s>", "</s>", "▁hello", ""}, nil},
		{"strings of floats", strs, "tokenizer.ggml.scores", nil, ErrWrongType},
		{"float32s", f32s, "tokenizer.ggml.scores", []float32{0, 0, -1.5, -2}, nil},
		{"float32s from float64s", f32s, "floats.f64", []float32{0.5, float32(math.Inf(1))}, nil},
		{"int32s", i32s, "tokenizer.ggml.token_type", []int32{3, 3, 1, 1}, nil},
		{"int32s from uint16s", i32s, "ints.u16", []int32{1, 2, 65535}, nil},
		{"int32s overflow", i32s, "ints.big", nil, ErrWrongType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get(tc.key)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), tc.key) {
					t.Errorf("error %q does not name the key %q", err, tc.key)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v (%T), want %v (%T)", got, got, tc.want, tc.want)
			}
		})
	}
}

// TestRewriteShared reads every shared model and vocabulary, writes it back
// and expects the very bytes llama.cpp wrote, then reads it again.
func TestRewriteShared(t *testing.T) {
	for _, path := range sharedGGUFs(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var buf bytes.Buffer
			w, err := NewWriter(&buf, f.KV, f.Tensors)
			if err != nil {
				t.Fatal(err)
			}
			for _, ti := range f.Tensors {
				if err := w.CopyTensor(bytes.NewReader(f.TensorData(ti))); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			g, err := Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.KV, g.KV) || !reflect.DeepEqual(f.Tensors, g.Tensors) {
				t.Fatal("metadata or tensor infos differ after the rewrite")
			}
			for _, ti := range f.Tensors {
				if !bytes.Equal(f.TensorData(ti), g.TensorData(ti)) {
					t.Fatalf("tensor %q bytes differ after the rewrite", ti.Name)
				}
			}
			// llama.cpp pads the end of the data section only when the file
			// has tensors; compare the bytes it wrote.
			got := buf.Bytes()
			if len(f.Tensors) == 0 && len(got) > len(orig) {
				got = got[:len(orig)]
			}
			if !bytes.Equal(got, orig) {
				t.Errorf("rewritten file differs from the original (%d vs %d bytes)", len(got), len(orig))
			}
		})
	}
}

func TestOpenIsLazy(t *testing.T) {
	// A 1 GiB tensor in a sparse file: opening must neither read nor copy it.
	tensors := []TensorInfo{{Name: "big", Dims: []uint64{1 << 28}, Type: TypeF32}}
	var hdr bytes.Buffer
	if _, err := NewWriter(&hdr, []KV{{"general.architecture", Value{Type: ValueString, Data: "llama"}}}, tensors); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "big.gguf")
	if err := os.WriteFile(path, hdr.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(hdr.Len())+1<<30); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	defer f.Close()
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("Open allocated %d bytes for a 1 GiB file", got)
	}
	_, b, err := f.Tensor("big")
	if err != nil || len(b) != 1<<30 {
		t.Fatalf("tensor: %d bytes, %v", len(b), err)
	}
}

// le builds little-endian byte strings for hand-made headers.
type le []byte

func (b le) u32(v uint32) le { return binary.LittleEndian.AppendUint32(b, v) }
func (b le) u64(v uint64) le { return binary.LittleEndian.AppendUint64(b, v) }
func (b le) str(s string) le { return append(b.u64(uint64(len(s))), s...) }

func header(version uint32, nTensors, nKV uint64) le {
	return le("GGUF").u32(version).u64(nTensors).u64(nKV)
}

// tensorFile is a header with one tensor info and the given data bytes.
func tensorFile(dims []uint64, typ Type, offset uint64, dataLen int) []byte {
	b := header(3, 1, 0).str("t").u32(uint32(len(dims)))
	for _, d := range dims {
		b = b.u64(d)
	}
	b = b.u32(uint32(typ)).u64(offset)
	for len(b)%32 != 0 {
		b = append(b, 0)
	}
	return append(b, make([]byte, dataLen)...)
}

func TestMalformed(t *testing.T) {
	twoTensors := func(off2 uint64) []byte {
		b := header(3, 2, 0).str("a").u32(1).u64(8).u32(uint32(TypeF32)).u64(0)
		b = b.str("b").u32(1).u64(8).u32(uint32(TypeF32)).u64(off2)
		for len(b)%32 != 0 {
			b = append(b, 0)
		}
		return append(b, make([]byte, 96)...)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string // in the error message
	}{
		{"empty", nil, "bad magic"},
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), "bad magic"},
		{"version 1", header(1, 0, 0), "version 1"},
		{"version 9", header(9, 0, 0), "unknown GGUF version 9"},
		{"big endian", le("GGUF\x00\x00\x00\x03").u64(0).u64(0), "big-endian"},
		{"truncated counts", le("GGUF").u32(3).u32(0), "file ends"},
		{"huge kv count", header(3, 0, 1<<62), "metadata count"},
		{"huge tensor count", header(3, 1<<40, 0), "tensor count"},
		{"huge key length", append(header(3, 0, 1).u64(1<<60), make([]byte, 16)...), "length"},
		{"unknown value type", header(3, 0, 1).str("k").u32(77), "unknown value type 77"},
		{"huge string value", header(3, 0, 1).str("k").u32(uint32(ValueString)).u64(1 << 50), "exceeds"},
		{"huge array", header(3, 0, 1).str("k").u32(uint32(ValueArray)).u32(uint32(ValueUint64)).u64(1 << 40), "cannot fit"},
		{"huge string array", header(3, 0, 1).str("k").u32(uint32(ValueArray)).u32(uint32(ValueString)).u64(1 << 40), "cannot fit"},
		{"unknown element type", header(3, 0, 1).str("k").u32(uint32(ValueArray)).u32(99).u64(1), "unknown array element type"},
		{"bad bool", append(header(3, 0, 1).str("k").u32(uint32(ValueBool)), 7), "bool byte 7"},
		{"duplicate key", append(append(header(3, 0, 2).str("k").u32(uint32(ValueUint8)), 1).str("k").u32(uint32(ValueUint8)), 2), "duplicate metadata key"},
		{"bad alignment type", header(3, 0, 1).str("general.alignment").u32(uint32(ValueUint64)).u64(32), "general.alignment"},
		{"alignment not power of two", header(3, 0, 1).str("general.alignment").u32(uint32(ValueUint32)).u32(48), "power of two"},
		{"too many dims", header(3, 1, 0).str("t").u32(5).u64(1).u64(1).u64(1).u64(1).u64(1), "5 dimensions"},
		{"dims overflow", tensorFile([]uint64{1 << 40, 1 << 40}, TypeF32, 0, 0), "overflow"},
		{"unknown tensor type", tensorFile([]uint64{4}, Type(200), 0, 16), "unknown tensor type 200"},
		{"partial block", tensorFile([]uint64{40}, TypeQ4_0, 0, 64), "block size"},
		{"misaligned offset", tensorFile([]uint64{4}, TypeF32, 4, 64), "not a multiple of the alignment"},
		{"data past end", tensorFile([]uint64{64}, TypeF32, 0, 100), "past the end"},
		{"offset past end", tensorFile([]uint64{4}, TypeF32, 1<<40, 16), "past the end"},
		{"offset overflow", tensorFile([]uint64{4}, TypeF32, math.MaxUint64-31, 16), "past the end"},
		{"overlap", twoTensors(0), "overlaps"},
		{"duplicate tensor", func() []byte {
			b := header(3, 2, 0).str("a").u32(1).u64(8).u32(0).u64(0).str("a").u32(1).u64(8).u32(0).u64(32)
			return append(b, make([]byte, 128)...)
		}(), "duplicate tensor name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data)
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) {
				t.Errorf("error %v is not a *FormatError", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "at byte") {
				t.Errorf("error %q does not say %q and where", err, tc.want)
			}
		})
	}
	if _, err := Parse(twoTensors(32)); err != nil {
		t.Errorf("adjacent tensors rejected: %v", err)
	}
}

// TestTruncated cuts a valid file at every length: each prefix must fail
// cleanly, except those that still hold every tensor.
func TestTruncated(t *testing.T) {
	file, _, _, _ := buildFile(t)
	full, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	var need int64
	for _, ti := range full.Tensors {
		need = max(need, full.DataOffset+int64(ti.Offset)+ti.Size())
	}
	for n := 0; n < len(file); n++ {
		_, err := Parse(file[:n])
		if (err == nil) != (int64(n) >= need) {
			t.Fatalf("prefix of %d bytes (tensors end at %d): err = %v", n, need, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.gguf")); err == nil {
		t.Error("missing file opened")
	}
	bad := filepath.Join(dir, "bad.gguf")
	os.WriteFile(bad, []byte("not a model"), 0o644)
	_, err := Open(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "bad magic") {
		t.Errorf("err = %v, want the path and the problem", err)
	}
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	ti := []TensorInfo{{Name: "a", Dims: []uint64{8}, Type: TypeF32}}
	if _, err := NewWriter(&buf, nil, append(ti, ti...)); err == nil {
		t.Error("duplicate tensor names accepted")
	}
	if _, err := NewWriter(&buf, nil, []TensorInfo{{Name: "q", Dims: []uint64{10}, Type: TypeQ4_0}}); err == nil {
		t.Error("partial block accepted")
	}
	if _, err := NewWriter(&buf, []KV{{"k", Value{Type: ValueUint32, Data: "x"}}}, nil); err == nil {
		t.Error("mismatched value type accepted")
	}
	w, err := NewWriter(&buf, nil, ti)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTensor(make([]byte, 31)); err == nil {
		t.Error("short tensor accepted")
	}
	w, _ = NewWriter(&buf, nil, ti)
	if err := w.Close(); err == nil {
		t.Error("Close with a tensor missing succeeded")
	}
	w, _ = NewWriter(&buf, nil, ti)
	if err := w.CopyTensor(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Error("short copy accepted")
	}
}

func FuzzParse(f *testing.F) {
	file, _, _, _ := buildFile(f)
	f.Add(file)
	f.Add([]byte(header(3, 0, 0)))
	f.Add(tensorFile([]uint64{4, 2}, TypeF32, 0, 32))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		for _, ti := range g.Tensors {
			if b := g.TensorData(ti); int64(len(b)) != ti.Size() {
				t.Fatalf("tensor %q: %d bytes, want %d", ti.Name, len(b), ti.Size())
			}
		}
		for _, kv := range g.KV {
			g.Lookup(kv.Key)
		}
	})
}

func BenchmarkOpenVocab(b *testing.B) {
	path := filepath.Join(sharedDir, "vocab", "ggml-vocab-deepseek-llm.gguf")
	if _, err := os.Stat(path); err != nil {
		b.Skipf("shared vocabulary absent: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
