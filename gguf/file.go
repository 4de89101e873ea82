// Package gguf reads and writes GGUF model files and holds the table of
// tensor types (block sizes, quantization and dequantization).
//
// A file is memory-mapped read-only: opening it copies no tensor data, and a
// tensor's bytes are slices of the mapping.
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/openweights/owl/internal/mmap"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// Limits on what a header may declare; they stop a malformed file from
// making the reader allocate or loop without bound. Counts are also checked
// against the bytes left in the file.
const (
	maxDims       = 4 // ggml's GGML_MAX_DIMS
	maxArrayDepth = 8
	maxKeyLen     = 1 << 16
)

// Sentinel errors that callers branch on.
var (
	ErrKeyNotFound = errors.New("key not found")
	ErrWrongType   = errors.New("wrong value type")
	ErrNoTensor    = errors.New("tensor not found")
	ErrFormat      = errors.New("malformed GGUF")
)

// FormatError reports a malformed file and where in it the problem lies.
type FormatError struct {
	Offset int64 // byte offset in the file
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: at byte %d: %s", e.Offset, e.Msg)
}

func (e *FormatError) Unwrap() error { return ErrFormat }

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name string
	// Dims in ggml order: Dims[0] is the length of a row (the fastest
	// varying dimension).
	Dims   []uint64
	Type   Type
	Offset uint64 // relative to the start of the data section
}

// Elements is the number of elements (the product of Dims).
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d)
	}
	return n
}

// Size is the tensor's size in bytes.
func (t TensorInfo) Size() int64 {
	s, _ := t.Type.RowSize(t.Elements())
	return s
}

// File is an open GGUF file.
type File struct {
	Version    uint32
	KV         []KV
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset int64 // absolute offset of the data section

	data   []byte // the whole file
	m      *mmap.Map
	kv     map[string]int
	tensor map[string]int
}

// Open maps path read-only and parses its header.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := Parse(m.Data)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.m = m
	return f, nil
}

// Close releases the mapping; tensor bytes must not be used afterwards.
// Metadata stays readable.
func (f *File) Close() error {
	f.data = nil
	if f.m == nil {
		return nil
	}
	err := f.m.Close()
	f.m = nil
	return err
}

// Parse parses a GGUF file held in data. Tensor bytes returned later are
// slices of data.
func Parse(data []byte) (*File, error) {
	r := &reader{buf: data}
	f := &File{data: data, Alignment: DefaultAlignment}
	if err := f.parse(r); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) parse(r *reader) error {
	if len(r.buf) < 4 || string(r.buf[:4]) != Magic {
		n := min(len(r.buf), 4)
		return &FormatError{0, fmt.Sprintf("bad magic %q, want %q (not a GGUF file)", r.buf[:n], Magic)}
	}
	r.pos = 4
	version, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case version == 1:
		return &FormatError{4, "GGUF version 1 is not supported (convert the file with a current llama.cpp)"}
	case version != 2 && version != 3:
		if bits.ReverseBytes32(version) == 2 || bits.ReverseBytes32(version) == 3 {
			return &FormatError{4, "big-endian GGUF files are not supported"}
		}
		return &FormatError{4, fmt.Sprintf("unknown GGUF version %d", version)}
	}
	f.Version = version
	nTensors, err := r.u64()
	if err != nil {
		return err
	}
	nKV, err := r.u64()
	if err != nil {
		return err
	}
	// Each KV needs at least a key length, a type and a one-byte value; each
	// tensor info at least a name length, n_dims, type and offset.
	if nKV > uint64(r.left())/13 {
		return &FormatError{16, fmt.Sprintf("metadata count %d cannot fit in the %d bytes left", nKV, r.left())}
	}
	if nTensors > uint64(r.left())/24 {
		return &FormatError{8, fmt.Sprintf("tensor count %d cannot fit in the %d bytes left", nTensors, r.left())}
	}

	f.KV = make([]KV, 0, nKV)
	f.kv = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		at := r.pos
		key, err := r.str("metadata key")
		if err != nil {
			return err
		}
		if len(key) > maxKeyLen {
			return &FormatError{int64(at), fmt.Sprintf("metadata key of %d bytes is too long", len(key))}
		}
		if _, dup := f.kv[key]; dup {
			return &FormatError{int64(at), fmt.Sprintf("duplicate metadata key %q", key)}
		}
		tpos := r.pos
		t, err := r.u32()
		if err != nil {
			return err
		}
		v, err := r.value(ValueType(t), int64(tpos), key, 0)
		if err != nil {
			return err
		}
		f.kv[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}

	if i, ok := f.kv["general.alignment"]; ok {
		u, ok := f.KV[i].Value.Data.(uint32)
		if !ok {
			return &FormatError{int64(r.pos), fmt.Sprintf("general.alignment is %s, want uint32", f.KV[i].Value.typeName())}
		}
		if u == 0 || u&(u-1) != 0 {
			return &FormatError{int64(r.pos), fmt.Sprintf("general.alignment %d is not a power of two", u)}
		}
		f.Alignment = uint64(u)
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.tensor = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		at := int64(r.pos)
		t, err := r.tensorInfo()
		if err != nil {
			return err
		}
		if _, dup := f.tensor[t.Name]; dup {
			return &FormatError{at, fmt.Sprintf("duplicate tensor name %q", t.Name)}
		}
		if t.Offset%f.Alignment != 0 {
			return &FormatError{at, fmt.Sprintf("tensor %q: offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)}
		}
		f.tensor[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}

	start := (uint64(r.pos) + f.Alignment - 1) / f.Alignment * f.Alignment
	if len(f.Tensors) > 0 && start > uint64(len(r.buf)) {
		return &FormatError{int64(r.pos), fmt.Sprintf("data section would start at %d, past the end of the %d-byte file", start, len(r.buf))}
	}
	// A file without tensors (a vocabulary) may end unpadded.
	f.DataOffset = int64(min(start, uint64(len(r.buf))))
	return f.checkTensorData()
}

// checkTensorData verifies every tensor lies inside the file and no two
// overlap.
func (f *File) checkTensorData() error {
	dataLen := uint64(len(f.data)) - uint64(f.DataOffset)
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	var prevEnd uint64
	prev := -1
	for _, i := range order {
		t := f.Tensors[i]
		size := uint64(t.Size())
		if t.Offset > dataLen || size > dataLen-t.Offset {
			return &FormatError{f.DataOffset + int64(min(t.Offset, dataLen)), fmt.Sprintf(
				"tensor %q: data [%d, %d) ends past the end of the file (data section is %d bytes, file truncated?)",
				t.Name, uint64(f.DataOffset)+t.Offset, uint64(f.DataOffset)+t.Offset+size, dataLen)}
		}
		if prev >= 0 && t.Offset < prevEnd {
			return &FormatError{f.DataOffset + int64(t.Offset), fmt.Sprintf(
				"tensor %q overlaps tensor %q", t.Name, f.Tensors[prev].Name)}
		}
		prevEnd = t.Offset + size
		prev = i
	}
	return nil
}

// Lookup returns the value of key.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.kv[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// Arch returns general.architecture, or "" when it is absent.
func (f *File) Arch() string {
	s, _ := f.String("general.architecture")
	return s
}

// ArchKey prefixes suffix with the architecture: ArchKey("context_length")
// is "llama.context_length" in a llama file.
func (f *File) ArchKey(suffix string) string { return f.Arch() + "." + suffix }

func (f *File) get(key string) (Value, error) {
	v, ok := f.Lookup(key)
	if !ok {
		return Value{}, fmt.Errorf("gguf: metadata %q: %w", key, ErrKeyNotFound)
	}
	return v, nil
}

func wrongType(key string, v Value, want string) error {
	return fmt.Errorf("gguf: metadata %q is %s, want %s: %w", key, v.typeName(), want, ErrWrongType)
}

// String returns a string value.
func (f *File) String(key string) (string, error) {
	v, err := f.get(key)
	if err != nil {
		return "", err
	}
	s, ok := v.Data.(string)
	if !ok {
		return "", wrongType(key, v, "string")
	}
	return s, nil
}

// Int64 returns an integer value of any integer type that fits in int64.
func (f *File) Int64(key string) (int64, error) {
	v, err := f.get(key)
	if err != nil {
		return 0, err
	}
	i, big, ok := v.integer()
	if !ok {
		return 0, wrongType(key, v, "an integer")
	}
	if big {
		return 0, fmt.Errorf("gguf: metadata %q: value %d overflows int64: %w", key, v.Data, ErrWrongType)
	}
	return i, nil
}

// Uint64 returns a non-negative integer value of any integer type.
func (f *File) Uint64(key string) (uint64, error) {
	v, err := f.get(key)
	if err != nil {
		return 0, err
	}
	if u, ok := v.Data.(uint64); ok {
		return u, nil
	}
	i, _, ok := v.integer()
	if !ok {
		return 0, wrongType(key, v, "an integer")
	}
	if i < 0 {
		return 0, fmt.Errorf("gguf: metadata %q: negative value %d: %w", key, i, ErrWrongType)
	}
	return uint64(i), nil
}

// Uint32 returns a non-negative integer value that fits in 32 bits.
func (f *File) Uint32(key string) (uint32, error) {
	u, err := f.Uint64(key)
	if err != nil {
		return 0, err
	}
	if u > math.MaxUint32 {
		return 0, fmt.Errorf("gguf: metadata %q: value %d overflows uint32: %w", key, u, ErrWrongType)
	}
	return uint32(u), nil
}

// Float32 returns a float32 or float64 value as float32.
func (f *File) Float32(key string) (float32, error) {
	v, err := f.get(key)
	if err != nil {
		return 0, err
	}
	switch d := v.Data.(type) {
	case float32:
		return d, nil
	case float64:
		return float32(d), nil
	}
	return 0, wrongType(key, v, "a float")
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, error) {
	v, err := f.get(key)
	if err != nil {
		return false, err
	}
	b, ok := v.Data.(bool)
	if !ok {
		return false, wrongType(key, v, "bool")
	}
	return b, nil
}

// Strings returns an array of strings.
func (f *File) Strings(key string) ([]string, error) {
	v, err := f.get(key)
	if err != nil {
		return nil, err
	}
	s, ok := v.Data.([]string)
	if !ok {
		return nil, wrongType(key, v, "array of string")
	}
	return s, nil
}

// Float32s returns an array of float32 (float64 arrays are narrowed).
func (f *File) Float32s(key string) ([]float32, error) {
	v, err := f.get(key)
	if err != nil {
		return nil, err
	}
	switch d := v.Data.(type) {
	case []float32:
		return d, nil
	case []float64:
		out := make([]float32, len(d))
		for i, x := range d {
			out[i] = float32(x)
		}
		return out, nil
	}
	return nil, wrongType(key, v, "array of float32")
}

// Int32s returns an integer array whose values all fit in int32.
func (f *File) Int32s(key string) ([]int32, error) {
	v, err := f.get(key)
	if err != nil {
		return nil, err
	}
	if d, ok := v.Data.([]int32); ok {
		return d, nil
	}
	wide, ok := v.ints()
	if !ok {
		return nil, wrongType(key, v, "array of integers")
	}
	out := make([]int32, len(wide))
	for i, x := range wide {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return nil, fmt.Errorf("gguf: metadata %q: element %d = %d overflows int32: %w", key, i, x, ErrWrongType)
		}
		out[i] = int32(x)
	}
	return out, nil
}

// Tensor returns a tensor's description and its bytes (a slice of the
// mapping, not a copy).
func (f *File) Tensor(name string) (TensorInfo, []byte, error) {
	i, ok := f.tensor[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("gguf: tensor %q: %w", name, ErrNoTensor)
	}
	t := f.Tensors[i]
	if f.data == nil {
		return t, nil, fmt.Errorf("gguf: tensor %q: file is closed", name)
	}
	return t, f.TensorData(t), nil
}

// TensorData returns the bytes of a tensor of this file.
func (f *File) TensorData(t TensorInfo) []byte {
	start := uint64(f.DataOffset) + t.Offset
	end := start + uint64(t.Size())
	if f.data == nil || end > uint64(len(f.data)) {
		return nil
	}
	return f.data[start:end:end]
}

// reader decodes little-endian GGUF values from buf, reporting byte offsets
// in its errors.
type reader struct {
	buf []byte
	pos int
}

func (r *reader) left() int { return len(r.buf) - r.pos }

func (r *reader) need(n int, what string) error {
	if n < 0 || r.left() < n {
		return &FormatError{int64(r.pos), fmt.Sprintf("file ends reading %s: need %d bytes, %d left (truncated?)", what, n, r.left())}
	}
	return nil
}

func (r *reader) u32() (uint32, error) {
	if err := r.need(4, "uint32"); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(r.buf[r.pos:])
	r.pos += 4
	return v, nil
}

func (r *reader) u64() (uint64, error) {
	if err := r.need(8, "uint64"); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(r.buf[r.pos:])
	r.pos += 8
	return v, nil
}

func (r *reader) str(what string) (string, error) {
	return r.strLabel(func() string { return what })
}

// strLabel reads a string; label names it in an error and is called only
// then, so reading a vocabulary of 150k strings formats no labels.
func (r *reader) strLabel(label func() string) (string, error) {
	at := r.pos
	n, err := r.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(r.left()) {
		return "", &FormatError{int64(at), fmt.Sprintf("%s length %d exceeds the %d bytes left", label(), n, r.left())}
	}
	s := string(r.buf[r.pos : r.pos+int(n)])
	r.pos += int(n)
	return s, nil
}

func (r *reader) value(t ValueType, at int64, key string, depth int) (Value, error) {
	if !t.valid() {
		return Value{}, &FormatError{at, fmt.Sprintf("metadata %q: unknown value type %d", key, uint32(t))}
	}
	if t != ValueArray {
		d, err := r.scalar(t, key)
		return Value{Type: t, Data: d}, err
	}
	if depth >= maxArrayDepth {
		return Value{}, &FormatError{at, fmt.Sprintf("metadata %q: arrays nested deeper than %d", key, maxArrayDepth)}
	}
	epos := r.pos
	e, err := r.u32()
	if err != nil {
		return Value{}, err
	}
	et := ValueType(e)
	if !et.valid() {
		return Value{}, &FormatError{int64(epos), fmt.Sprintf("metadata %q: unknown array element type %d", key, e)}
	}
	cpos := r.pos
	n, err := r.u64()
	if err != nil {
		return Value{}, err
	}
	// Every element takes at least scalarSize bytes (a string its length, a
	// nested array its type and count), so this bounds the allocation by
	// the file's size.
	if n > uint64(r.left()/scalarSize[et]) {
		return Value{}, &FormatError{int64(cpos), fmt.Sprintf("metadata %q: array of %d %s cannot fit in the %d bytes left", key, n, et, r.left())}
	}
	v := Value{Type: ValueArray, Elem: et}
	switch et {
	case ValueString:
		a := make([]string, n)
		for i := range a {
			if a[i], err = r.strLabel(func() string { return fmt.Sprintf("metadata %q element %d", key, i) }); err != nil {
				return Value{}, err
			}
		}
		v.Data = a
	case ValueArray:
		a := make([]Value, n)
		for i := range a {
			if a[i], err = r.value(ValueArray, int64(r.pos), key, depth+1); err != nil {
				return Value{}, err
			}
		}
		v.Data = a
	case ValueBool:
		a := make([]bool, n)
		for i := range a {
			b := r.buf[r.pos+i]
			if b > 1 {
				return Value{}, &FormatError{int64(r.pos + i), fmt.Sprintf("metadata %q: element %d: bool byte %d is neither 0 nor 1", key, i, b)}
			}
			a[i] = b == 1
		}
		r.pos += int(n)
		v.Data = a
	default:
		v.Data = decodeNumbers(et, r.buf[r.pos:r.pos+int(n)*scalarSize[et]], int(n))
		r.pos += int(n) * scalarSize[et]
	}
	return v, nil
}

func decodeNumbers(t ValueType, b []byte, n int) any {
	le := binary.LittleEndian
	switch t {
	case ValueUint8:
		return append([]uint8(nil), b...)
	case ValueInt8:
		a := make([]int8, n)
		for i := range a {
			a[i] = int8(b[i])
		}
		return a
	case ValueUint16:
		a := make([]uint16, n)
		for i := range a {
			a[i] = le.Uint16(b[2*i:])
		}
		return a
	case ValueInt16:
		a := make([]int16, n)
		for i := range a {
			a[i] = int16(le.Uint16(b[2*i:]))
		}
		return a
	case ValueUint32:
		a := make([]uint32, n)
		for i := range a {
			a[i] = le.Uint32(b[4*i:])
		}
		return a
	case ValueInt32:
		a := make([]int32, n)
		for i := range a {
			a[i] = int32(le.Uint32(b[4*i:]))
		}
		return a
	case ValueFloat32:
		a := make([]float32, n)
		for i := range a {
			a[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return a
	case ValueUint64:
		a := make([]uint64, n)
		for i := range a {
			a[i] = le.Uint64(b[8*i:])
		}
		return a
	case ValueInt64:
		a := make([]int64, n)
		for i := range a {
			a[i] = int64(le.Uint64(b[8*i:]))
		}
		return a
	case ValueFloat64:
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		return a
	}
	panic("gguf: decodeNumbers on non-numeric type " + t.String())
}

func (r *reader) scalar(t ValueType, key string) (any, error) {
	if t == ValueString {
		return r.str(fmt.Sprintf("metadata %q value", key))
	}
	n := scalarSize[t]
	if err := r.need(n, fmt.Sprintf("metadata %q value", key)); err != nil {
		return nil, err
	}
	b := r.buf[r.pos : r.pos+n]
	le := binary.LittleEndian
	var v any
	switch t {
	case ValueUint8:
		v = b[0]
	case ValueInt8:
		v = int8(b[0])
	case ValueUint16:
		v = le.Uint16(b)
	case ValueInt16:
		v = int16(le.Uint16(b))
	case ValueUint32:
		v = le.Uint32(b)
	case ValueInt32:
		v = int32(le.Uint32(b))
	case ValueFloat32:
		v = math.Float32frombits(le.Uint32(b))
	case ValueBool:
		if b[0] > 1 {
			return nil, &FormatError{int64(r.pos), fmt.Sprintf("metadata %q: bool byte %d is neither 0 nor 1", key, b[0])}
		}
		v = b[0] == 1
	case ValueUint64:
		v = le.Uint64(b)
	case ValueInt64:
		v = int64(le.Uint64(b))
	case ValueFloat64:
		v = math.Float64frombits(le.Uint64(b))
	}
	r.pos += n
	return v, nil
}

func (r *reader) tensorInfo() (TensorInfo, error) {
	at := int64(r.pos)
	name, err := r.str("tensor name")
	if err != nil {
		return TensorInfo{}, err
	}
	if len(name) > maxKeyLen {
		return TensorInfo{}, &FormatError{at, fmt.Sprintf("tensor name of %d bytes is too long", len(name))}
	}
	dpos := int64(r.pos)
	nDims, err := r.u32()
	if err != nil {
		return TensorInfo{}, err
	}
	if nDims > maxDims {
		return TensorInfo{}, &FormatError{dpos, fmt.Sprintf("tensor %q has %d dimensions, at most %d allowed", name, nDims, maxDims)}
	}
	t := TensorInfo{Name: name, Dims: make([]uint64, nDims)}
	elems := uint64(1)
	for i := range t.Dims {
		p := int64(r.pos)
		if t.Dims[i], err = r.u64(); err != nil {
			return TensorInfo{}, err
		}
		d := t.Dims[i]
		if d > math.MaxInt64 || (d != 0 && elems > math.MaxInt64/d) {
			return TensorInfo{}, &FormatError{p, fmt.Sprintf("tensor %q: dimensions %v overflow the element count", name, t.Dims[:i+1])}
		}
		elems *= d
	}
	tpos := int64(r.pos)
	typ, err := r.u32()
	if err != nil {
		return TensorInfo{}, err
	}
	t.Type = Type(typ)
	tr := t.Type.Traits()
	if tr == nil {
		return TensorInfo{}, &FormatError{tpos, fmt.Sprintf("tensor %q: unknown tensor type %d", name, typ)}
	}
	if len(t.Dims) > 0 && t.Dims[0]%uint64(tr.BlockSize) != 0 {
		return TensorInfo{}, &FormatError{dpos, fmt.Sprintf("tensor %q: row length %d is not a multiple of %s's block size %d", name, t.Dims[0], tr.Name, tr.BlockSize)}
	}
	if elems/uint64(tr.BlockSize) > math.MaxInt64/uint64(tr.TypeSize) {
		return TensorInfo{}, &FormatError{dpos, fmt.Sprintf("tensor %q: size overflows", name)}
	}
	if t.Offset, err = r.u64(); err != nil {
		return TensorInfo{}, err
	}
	return t, nil
}
