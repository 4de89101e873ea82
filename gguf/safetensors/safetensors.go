// Package safetensors reads Hugging Face safetensors files: a little-endian
// uint64 header length N, N bytes of JSON describing each tensor's dtype,
// shape and byte range, then the tensor data. Open maps one file, OpenModel
// a model's shards; tensor bytes are slices of the mapping, never copies.
//
// The header is checked as strictly as the reference implementation checks
// it (huggingface/safetensors): at most MaxHeaderSize bytes of UTF-8 JSON
// starting with '{', no duplicate keys, every shape agreeing with its byte
// range, and the ranges tiling the data section exactly, without gaps,
// overlaps or trailing bytes. Every number is checked before it is used, so
// a hostile file gives an error, never a panic or a large allocation.
package safetensors

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/openweights/owl/internal/mmap"
)

// MaxHeaderSize is the largest JSON header accepted, the reference
// implementation's limit.
const MaxHeaderSize = 100_000_000

// maxRank bounds the dimensions of one tensor. The format sets no limit;
// this one (numpy's and PyTorch's practical limit) keeps a hostile header
// from growing a shape slice far beyond what any framework writes.
const maxRank = 64

// metadataKey is the header key of the free-form string map.
const metadataKey = "__metadata__"

var (
	// ErrNotFound is wrapped by errors for a tensor name a file lacks.
	ErrNotFound = errors.New("tensor not found")
	// ErrClosed is returned for tensor data asked of a closed File or Model.
	ErrClosed = errors.New("closed")
)

// FormatError describes a file that breaks the format.
type FormatError struct {
	Path   string // the file, when known
	Tensor string // the tensor at fault, "" when the problem is not one tensor's
	Offset int64  // byte offset in the file where the problem is, -1 when none applies
	Msg    string
	Err    error // the JSON syntax error beneath, or nil
}

func (e *FormatError) Error() string {
	s := "safetensors: "
	if e.Path != "" {
		s += e.Path + ": "
	}
	if e.Tensor != "" {
		s += "tensor " + strconv.Quote(e.Tensor) + ": "
	}
	s += e.Msg
	if e.Offset >= 0 {
		s += " (file offset " + strconv.FormatInt(e.Offset, 10) + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	// Shape is row-major, outermost dimension first: the reverse of GGUF's
	// Dims, where Dims[0] is the row length. Empty for a scalar.
	Shape []int64
	// Begin and End are the tensor's byte range, relative to the start of
	// the data section (File.DataOffset).
	Begin, End int64
}

// Elements returns the number of elements, 1 for a scalar.
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Size returns the bytes the tensor's data takes.
func (t TensorInfo) Size() int64 { return t.End - t.Begin }

// File is one parsed safetensors file. The zero value is an empty file.
type File struct {
	tensors    []TensorInfo // header order
	index      map[string]int
	metadata   map[string]string
	data       []byte // the data section
	dataOffset int64
	closed     bool
	m          *mmap.Map
}

// Open maps the file at path read-only and parses its header.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Parse(m.Data)
	if err != nil {
		m.Close()
		if fe, ok := err.(*FormatError); ok {
			fe.Path = path
		}
		return nil, err
	}
	f.m = m
	return f, nil
}

// Parse parses a whole safetensors file held in data. The File's tensor
// bytes are slices of data, which must stay unchanged while it is used.
func Parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, &FormatError{Offset: -1, Msg: fmt.Sprintf("file of %d bytes is shorter than the 8-byte header length", len(data))}
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, &FormatError{Offset: 0, Msg: fmt.Sprintf("header length %d is over the limit of %d bytes", n, MaxHeaderSize)}
	}
	if n > uint64(len(data)-8) {
		return nil, &FormatError{Offset: 0, Msg: fmt.Sprintf("header length %d runs past the end of the %d-byte file", n, len(data))}
	}
	header := data[8 : 8+n]
	if len(header) == 0 || header[0] != '{' {
		return nil, &FormatError{Offset: 8, Msg: "header does not start with '{'"}
	}
	tensors, meta, err := decodeHeader(header)
	if err != nil {
		return nil, err
	}
	f := &File{
		tensors:    tensors,
		metadata:   meta,
		data:       data[8+n:],
		dataOffset: int64(8 + n),
		index:      make(map[string]int, len(tensors)),
	}
	for i := range tensors {
		if err := checkTensor(&tensors[i], f.dataOffset, int64(len(f.data))); err != nil {
			return nil, err
		}
		f.index[tensors[i].Name] = i // unique: the decoder rejects duplicate keys
	}
	if err := f.checkLayout(); err != nil {
		return nil, err
	}
	return f, nil
}

// checkLayout checks that the tensors' byte ranges tile the data section:
// no gaps (which would let a file hide other content), no overlaps, nothing
// after the last tensor.
func (f *File) checkLayout() error {
	order := make([]int, len(f.tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ta, tb := &f.tensors[a], &f.tensors[b]
		return cmp.Or(cmp.Compare(ta.Begin, tb.Begin), cmp.Compare(ta.End, tb.End))
	})
	var pos int64
	prev := ""
	for _, i := range order {
		t := &f.tensors[i]
		switch {
		case t.Begin > pos:
			return &FormatError{Tensor: t.Name, Offset: f.dataOffset + pos,
				Msg: fmt.Sprintf("data_offsets [%d, %d] leave bytes [%d, %d) of the data section to no tensor", t.Begin, t.End, pos, t.Begin)}
		case t.Begin < pos:
			return &FormatError{Tensor: t.Name, Offset: f.dataOffset + t.Begin,
				Msg: fmt.Sprintf("data_offsets [%d, %d] overlap tensor %q, which ends at %d", t.Begin, t.End, prev, pos)}
		}
		pos, prev = t.End, t.Name
	}
	if pos != int64(len(f.data)) {
		return &FormatError{Offset: f.dataOffset + pos,
			Msg: fmt.Sprintf("tensors cover %d bytes of the %d-byte data section; the rest belongs to no tensor", pos, len(f.data))}
	}
	return nil
}

// checkTensor checks one tensor's shape against its dtype and byte range;
// dataLen is the size of the data section.
func checkTensor(t *TensorInfo, dataOffset, dataLen int64) error {
	bad := func(format string, args ...any) error {
		off := int64(-1)
		if t.Begin <= dataLen {
			off = dataOffset + t.Begin
		}
		return &FormatError{Tensor: t.Name, Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	if t.End < t.Begin {
		return bad("data_offsets [%d, %d] end before they begin", t.Begin, t.End)
	}
	if t.End > dataLen {
		return bad("data_offsets [%d, %d] run past the end of the %d-byte data section", t.Begin, t.End, dataLen)
	}
	size, problem := tensorBytes(t.DType, t.Shape)
	if problem != "" {
		return bad("%s", problem)
	}
	if size != t.End-t.Begin {
		return bad("shape %v of %v needs %d bytes but data_offsets [%d, %d] hold %d", t.Shape, t.DType, size, t.Begin, t.End, t.End-t.Begin)
	}
	return nil
}

// Close releases the file's mapping. Tensor data already returned must not
// be used afterwards. The header (Tensors, Metadata) stays readable.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	if f.m != nil {
		return f.m.Close()
	}
	return nil
}

// Tensors returns the tensors in header order.
func (f *File) Tensors() []TensorInfo { return slices.Clone(f.tensors) }

// Metadata returns the header's "__metadata__" map, nil if it has none.
func (f *File) Metadata() map[string]string { return maps.Clone(f.metadata) }

// DataOffset returns the file offset of the data section, where TensorInfo
// offsets start.
func (f *File) DataOffset() int64 { return f.dataOffset }

// Lookup returns the named tensor's description.
func (f *File) Lookup(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.tensors[i], true
}

// Tensor returns the named tensor's description and bytes: a slice of the
// mapped file, little-endian, row-major.
func (f *File) Tensor(name string) (TensorInfo, []byte, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("safetensors: tensor %q: %w", name, ErrNotFound)
	}
	if f.closed {
		return TensorInfo{}, nil, fmt.Errorf("safetensors: tensor %q: file %w", name, ErrClosed)
	}
	return t, f.data[t.Begin:t.End:t.End], nil
}

// Float32s returns the named tensor's elements converted to float32, in a
// new slice. It converts F32, F16, BF16 and F64.
func (f *File) Float32s(name string) ([]float32, error) {
	t, data, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	return float32s(t, data)
}
