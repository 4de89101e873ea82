package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Writer streams a GGUF v3 file: NewWriter writes the header, then each
// tensor's bytes follow in the order the tensors were given, so a file of
// any size is written without holding it in memory.
type Writer struct {
	w       *bufio.Writer
	n       int64 // bytes written so far
	align   uint64
	tensors []TensorInfo
	next    int // index of the next tensor to write
	err     error
	scratch [8]byte
}

// NewWriter writes the header of a file with the given metadata and tensors.
// Tensor offsets are assigned here (packed in order, each aligned); those in
// tensors are ignored. The alignment is general.alignment when kv has it.
func NewWriter(w io.Writer, kv []KV, tensors []TensorInfo) (*Writer, error) {
	gw := &Writer{w: bufio.NewWriterSize(w, 1<<20), align: DefaultAlignment}
	seen := make(map[string]bool, len(kv))
	for _, e := range kv {
		if seen[e.Key] {
			return nil, fmt.Errorf("gguf: write: duplicate metadata key %q", e.Key)
		}
		seen[e.Key] = true
		if e.Key == "general.alignment" {
			a, ok := e.Value.Data.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 {
				return nil, fmt.Errorf("gguf: write: general.alignment must be a uint32 power of two, got %v", e.Value.Data)
			}
			gw.align = uint64(a)
		}
	}
	gw.tensors = make([]TensorInfo, len(tensors))
	names := make(map[string]bool, len(tensors))
	var off uint64
	for i, t := range tensors {
		if names[t.Name] {
			return nil, fmt.Errorf("gguf: write: duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		if len(t.Dims) > maxDims {
			return nil, fmt.Errorf("gguf: write: tensor %q has %d dimensions, at most %d allowed", t.Name, len(t.Dims), maxDims)
		}
		size, ok := t.Type.RowSize(t.Elements())
		if !ok || (len(t.Dims) > 0 && t.Dims[0]%uint64(t.Type.Traits().BlockSize) != 0) {
			return nil, fmt.Errorf("gguf: write: tensor %q: %v elements of type %s do not form whole blocks", t.Name, t.Dims, t.Type)
		}
		t.Dims = append([]uint64(nil), t.Dims...)
		t.Offset = off
		gw.tensors[i] = t
		off += pad(uint64(size), gw.align)
	}

	gw.bytes([]byte(Magic))
	gw.u32(3)
	gw.u64(uint64(len(tensors)))
	gw.u64(uint64(len(kv)))
	for _, e := range kv {
		gw.str(e.Key)
		gw.u32(uint32(e.Value.Type))
		if err := gw.value(e.Value, 0); err != nil {
			return nil, fmt.Errorf("gguf: write: metadata %q: %w", e.Key, err)
		}
	}
	for _, t := range gw.tensors {
		gw.str(t.Name)
		gw.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			gw.u64(d)
		}
		gw.u32(uint32(t.Type))
		gw.u64(t.Offset)
	}
	gw.padTo()
	if gw.err == nil {
		// The header is complete on its own: callers may stream the data
		// through another path (or leave a sparse hole) after this.
		gw.err = gw.w.Flush()
	}
	if gw.err != nil {
		return nil, fmt.Errorf("gguf: write header: %w", gw.err)
	}
	return gw, nil
}

// Tensors returns the tensors with the offsets the file gives them.
func (w *Writer) Tensors() []TensorInfo { return w.tensors }

// WriteTensor writes the bytes of the next tensor.
func (w *Writer) WriteTensor(data []byte) error {
	t, err := w.nextTensor()
	if err != nil {
		return err
	}
	if int64(len(data)) != t.Size() {
		return fmt.Errorf("gguf: write: tensor %q: got %d bytes, want %d", t.Name, len(data), t.Size())
	}
	w.bytes(data)
	return w.finishTensor(t)
}

// CopyTensor writes the next tensor's bytes from r, which must supply
// exactly its size.
func (w *Writer) CopyTensor(r io.Reader) error {
	t, err := w.nextTensor()
	if err != nil {
		return err
	}
	n, err := io.CopyN(w.w, r, t.Size())
	w.n += n
	if err != nil {
		w.err = fmt.Errorf("tensor %q: copied %d of %d bytes: %w", t.Name, n, t.Size(), err)
		return fmt.Errorf("gguf: write: %w", w.err)
	}
	return w.finishTensor(t)
}

func (w *Writer) nextTensor() (TensorInfo, error) {
	if w.err != nil {
		return TensorInfo{}, fmt.Errorf("gguf: write: %w", w.err)
	}
	if w.next >= len(w.tensors) {
		return TensorInfo{}, errors.New("gguf: write: more tensors written than declared")
	}
	w.next++
	return w.tensors[w.next-1], nil
}

func (w *Writer) finishTensor(t TensorInfo) error {
	w.padTo()
	if w.err != nil {
		return fmt.Errorf("gguf: write: tensor %q: %w", t.Name, w.err)
	}
	return nil
}

// Close flushes the output; it fails if tensors declared were not written.
// It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return fmt.Errorf("gguf: write: %w", w.err)
	}
	if w.next != len(w.tensors) {
		return fmt.Errorf("gguf: write: %d of %d tensors written (next: %q)", w.next, len(w.tensors), w.tensors[w.next].Name)
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	return nil
}

func pad(n, align uint64) uint64 { return (n + align - 1) / align * align }

func (w *Writer) padTo() {
	var zeros [64]byte
	for n := pad(uint64(w.n), w.align) - uint64(w.n); n > 0; {
		k := min(n, uint64(len(zeros)))
		w.bytes(zeros[:k])
		n -= k
	}
}

func (w *Writer) bytes(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(b)
	w.n += int64(n)
	w.err = err
}

func (w *Writer) u16(v uint16) { w.bytes(binary.LittleEndian.AppendUint16(w.scratch[:0], v)) }
func (w *Writer) u32(v uint32) { w.bytes(binary.LittleEndian.AppendUint32(w.scratch[:0], v)) }
func (w *Writer) u64(v uint64) { w.bytes(binary.LittleEndian.AppendUint64(w.scratch[:0], v)) }

func (w *Writer) str(s string) {
	w.u64(uint64(len(s)))
	if w.err == nil {
		n, err := w.w.WriteString(s)
		w.n += int64(n)
		w.err = err
	}
}

// value writes v's payload (its type tag is written by the caller).
func (w *Writer) value(v Value, depth int) error {
	if depth > maxArrayDepth {
		return fmt.Errorf("arrays nested deeper than %d", maxArrayDepth)
	}
	if v.Type != ValueArray {
		return w.scalar(v.Type, v.Data)
	}
	w.u32(uint32(v.Elem))
	w.u64(uint64(v.Len()))
	var err error
	each := func(n int, at func(i int) any) {
		for i := 0; i < n && err == nil; i++ {
			err = w.scalar(v.Elem, at(i))
		}
	}
	switch d := v.Data.(type) {
	case []Value:
		for _, e := range d {
			if e.Type != ValueArray {
				return fmt.Errorf("array of arrays holds a %s", e.Type)
			}
			if err := w.value(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []uint8:
		each(len(d), func(i int) any { return d[i] })
	case []int8:
		each(len(d), func(i int) any { return d[i] })
	case []uint16:
		each(len(d), func(i int) any { return d[i] })
	case []int16:
		each(len(d), func(i int) any { return d[i] })
	case []uint32:
		each(len(d), func(i int) any { return d[i] })
	case []int32:
		each(len(d), func(i int) any { return d[i] })
	case []float32:
		each(len(d), func(i int) any { return d[i] })
	case []bool:
		each(len(d), func(i int) any { return d[i] })
	case []string:
		each(len(d), func(i int) any { return d[i] })
	case []uint64:
		each(len(d), func(i int) any { return d[i] })
	case []int64:
		each(len(d), func(i int) any { return d[i] })
	case []float64:
		each(len(d), func(i int) any { return d[i] })
	default:
		return fmt.Errorf("array data is %T", v.Data)
	}
	return err
}

func (w *Writer) scalar(t ValueType, x any) error {
	ok := true
	switch t {
	case ValueUint8:
		var v uint8
		v, ok = x.(uint8)
		w.scratch[0] = v
		w.bytes(w.scratch[:1])
	case ValueInt8:
		var v int8
		v, ok = x.(int8)
		w.scratch[0] = byte(v)
		w.bytes(w.scratch[:1])
	case ValueUint16:
		var v uint16
		v, ok = x.(uint16)
		w.u16(v)
	case ValueInt16:
		var v int16
		v, ok = x.(int16)
		w.u16(uint16(v))
	case ValueUint32:
		var v uint32
		v, ok = x.(uint32)
		w.u32(v)
	case ValueInt32:
		var v int32
		v, ok = x.(int32)
		w.u32(uint32(v))
	case ValueFloat32:
		var v float32
		v, ok = x.(float32)
		w.u32(math.Float32bits(v))
	case ValueBool:
		var v bool
		v, ok = x.(bool)
		w.scratch[0] = 0
		if v {
			w.scratch[0] = 1
		}
		w.bytes(w.scratch[:1])
	case ValueString:
		var v string
		v, ok = x.(string)
		w.str(v)
	case ValueUint64:
		var v uint64
		v, ok = x.(uint64)
		w.u64(v)
	case ValueInt64:
		var v int64
		v, ok = x.(int64)
		w.u64(uint64(v))
	case ValueFloat64:
		var v float64
		v, ok = x.(float64)
		w.u64(math.Float64bits(v))
	default:
		return fmt.Errorf("unknown value type %d", uint32(t))
	}
	if !ok {
		return fmt.Errorf("value of Go type %T does not match metadata type %s", x, t)
	}
	return nil
}
