package gguf

import (
	"errors"
	"fmt"
)

// Contract of Traits.Dequantize and Traits.Quantize: they are the raw
// kernels and trust their caller. They convert len(dst)/BlockSize
// (Dequantize) or len(src)/BlockSize (Quantize) whole blocks, leave any
// trailing partial block untouched, and panic (a Go bounds check; memory is
// never overrun) when the other slice is too short. Callers that have not
// already validated sizes, e.g. against a tensor header read from a file,
// should use DequantizeRow and QuantizeRow, which check and return errors.

// ErrUnsupported reports a tensor type that owl cannot convert in the
// requested direction.
var ErrUnsupported = errors.New("unsupported tensor type")

// ErrSize reports element and byte counts that do not fit a type's blocks.
var ErrSize = errors.New("size mismatch")

// DequantizeRow converts src, holding len(dst) elements of type t, to
// float32 in dst. len(dst) must be a multiple of t's block size and src
// exactly the bytes of that many blocks.
func DequantizeRow(t Type, dst []float32, src []byte) error {
	tr := t.Traits()
	if tr == nil || tr.Dequantize == nil {
		return fmt.Errorf("gguf: dequantize %v: %w", t, ErrUnsupported)
	}
	if err := checkSizes(tr, len(dst), len(src)); err != nil {
		return fmt.Errorf("gguf: dequantize %v: %w", t, err)
	}
	tr.Dequantize(dst, src)
	return nil
}

// QuantizeRow converts the float32 values of src to type t in dst with
// ggml's reference quantizer (no importance matrix). len(src) must be a
// multiple of t's block size and dst exactly the bytes of that many blocks.
func QuantizeRow(t Type, dst []byte, src []float32) error {
	tr := t.Traits()
	if tr == nil || tr.Quantize == nil {
		return fmt.Errorf("gguf: quantize %v: %w", t, ErrUnsupported)
	}
	if err := checkSizes(tr, len(src), len(dst)); err != nil {
		return fmt.Errorf("gguf: quantize %v: %w", t, err)
	}
	tr.Quantize(dst, src)
	return nil
}

func checkSizes(tr *Traits, elems, nbytes int) error {
	if elems%tr.BlockSize != 0 {
		return fmt.Errorf("%w: %d elements is not a multiple of the block size %d", ErrSize, elems, tr.BlockSize)
	}
	if want := elems / tr.BlockSize * tr.TypeSize; nbytes != want {
		return fmt.Errorf("%w: %d elements need %d bytes, have %d", ErrSize, elems, want, nbytes)
	}
	return nil
}
