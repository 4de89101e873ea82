package safetensors

import (
	"encoding/binary"
	"encoding/json/jsontext"
	"fmt"
	"io"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Tensor is one tensor for Write.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64 // row-major, outermost first
	Data  []byte  // little-endian elements
}

// Write writes a safetensors file holding tensors, in the order given, and
// metadata (may be nil) as "__metadata__", its keys sorted. Like the
// reference writer it writes compact JSON padded with spaces to a multiple
// of 8 bytes, so that the data section starts 8-byte aligned.
func Write(w io.Writer, metadata map[string]string, tensors []Tensor) error {
	hdr := []byte{'{'}
	var err error
	quote := func(s string) {
		if err == nil {
			hdr, err = jsontext.AppendQuote(hdr, s)
		}
	}
	if len(metadata) > 0 {
		quote(metadataKey)
		hdr = append(hdr, ":{"...)
		keys := slices.Sorted(maps.Keys(metadata))
		for i, k := range keys {
			if i > 0 {
				hdr = append(hdr, ',')
			}
			quote(k)
			hdr = append(hdr, ':')
			quote(metadata[k])
		}
		hdr = append(hdr, '}')
		if err != nil {
			return fmt.Errorf("safetensors: write metadata: %w", err)
		}
	}
	seen := make(map[string]bool, len(tensors))
	var off int64
	for _, t := range tensors {
		if t.Name == metadataKey || seen[t.Name] {
			return fmt.Errorf("safetensors: write tensor %q: name reserved or used twice", t.Name)
		}
		seen[t.Name] = true
		size, problem := tensorBytes(t.DType, t.Shape)
		if problem != "" {
			return fmt.Errorf("safetensors: write tensor %q: %s", t.Name, problem)
		}
		if size != int64(len(t.Data)) {
			return fmt.Errorf("safetensors: write tensor %q: shape %v of %v needs %d bytes, not %d", t.Name, t.Shape, t.DType, size, len(t.Data))
		}
		if len(hdr) > 1 {
			hdr = append(hdr, ',')
		}
		quote(t.Name)
		if err != nil {
			return fmt.Errorf("safetensors: write tensor %q: %w", t.Name, err)
		}
		hdr = append(hdr, `:{"dtype":"`...)
		hdr = append(hdr, t.DType.String()...)
		hdr = append(hdr, `","shape":[`...)
		for i, d := range t.Shape {
			if i > 0 {
				hdr = append(hdr, ',')
			}
			hdr = strconv.AppendInt(hdr, d, 10)
		}
		hdr = append(hdr, `],"data_offsets":[`...)
		hdr = strconv.AppendInt(hdr, off, 10)
		hdr = append(hdr, ',')
		off += size
		hdr = strconv.AppendInt(hdr, off, 10)
		hdr = append(hdr, "]}"...)
	}
	hdr = append(hdr, '}')
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	if len(hdr) > MaxHeaderSize {
		return fmt.Errorf("safetensors: write: header of %d bytes is over the limit of %d", len(hdr), MaxHeaderSize)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
	if _, err := w.Write(n[:]); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: write tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// tensorBytes returns the bytes a tensor of dtype d and shape takes, or
// why it cannot be stored. The product is taken in uint64 as the reference
// takes it in usize: a shape whose product overflows is refused even if a
// later dimension is 0.
func tensorBytes(d DType, shape []int64) (size int64, problem string) {
	if !d.Valid() {
		return 0, "invalid dtype"
	}
	n := uint64(1)
	for _, x := range shape {
		if x < 0 {
			return 0, fmt.Sprintf("shape %v has a negative dimension", shape)
		}
		hi, lo := bits.Mul64(n, uint64(x))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Sprintf("shape %v has too many elements", shape)
		}
		n = lo
	}
	hi, nbits := bits.Mul64(n, uint64(d.Bits()))
	if hi != 0 || nbits/8 > math.MaxInt64 {
		return 0, fmt.Sprintf("shape %v of %v is too large", shape, d)
	}
	if nbits%8 != 0 {
		return 0, fmt.Sprintf("%d elements of %v do not fill whole bytes", n, d)
	}
	return int64(nbits / 8), ""
}
