package safetensors

import (
	"strconv"

	"github.com/openweights/owl/gguf"
)

// DType is a safetensors element type. The zero value is not a valid type.
type DType uint8

// Element types, as the safetensors reference implementation names them
// ("F8_E4M3" in a file is F8E4M3 here).
const (
	Bool   DType = iota + 1
	F4           // MX FP4 (E2M1), two elements a byte
	F6E2M3       // MX FP6, 6 bits an element
	F6E3M2       // MX FP6, 6 bits an element
	U8
	I8
	F8E5M2
	F8E4M3
	F8E8M0 // MX scale
	I16
	U16
	F16
	BF16
	I32
	U32
	F32
	C64 // complex, two float32 parts
	F64
	I64
	U64
)

type dtypeInfo struct {
	name string
	bits int       // bits an element
	gguf gguf.Type // same element layout in GGUF, when has
	has  bool
	conv convFloat32 // nil when Float32s cannot convert
}

// dtypes is the one table of element types, indexed by DType.
var dtypes = [...]dtypeInfo{
	Bool:   {name: "BOOL", bits: 8},
	F4:     {name: "F4", bits: 4},
	F6E2M3: {name: "F6_E2M3", bits: 6},
	F6E3M2: {name: "F6_E3M2", bits: 6},
	U8:     {name: "U8", bits: 8},
	I8:     {name: "I8", bits: 8, gguf: gguf.TypeI8, has: true},
	F8E5M2: {name: "F8_E5M2", bits: 8},
	F8E4M3: {name: "F8_E4M3", bits: 8},
	F8E8M0: {name: "F8_E8M0", bits: 8},
	I16:    {name: "I16", bits: 16, gguf: gguf.TypeI16, has: true},
	U16:    {name: "U16", bits: 16},
	F16:    {name: "F16", bits: 16, gguf: gguf.TypeF16, has: true, conv: f16ToF32},
	BF16:   {name: "BF16", bits: 16, gguf: gguf.TypeBF16, has: true, conv: bf16ToF32},
	I32:    {name: "I32", bits: 32, gguf: gguf.TypeI32, has: true},
	U32:    {name: "U32", bits: 32},
	F32:    {name: "F32", bits: 32, gguf: gguf.TypeF32, has: true, conv: f32ToF32},
	C64:    {name: "C64", bits: 64},
	F64:    {name: "F64", bits: 64, gguf: gguf.TypeF64, has: true, conv: f64ToF32},
	I64:    {name: "I64", bits: 64, gguf: gguf.TypeI64, has: true},
	U64:    {name: "U64", bits: 64},
}

func (d DType) info() *dtypeInfo {
	if d == 0 || int(d) >= len(dtypes) {
		return nil
	}
	return &dtypes[d]
}

// Valid reports whether d is one of the defined types.
func (d DType) Valid() bool { return d.info() != nil }

// String returns the name the type has in a file ("BF16", "F8_E4M3").
func (d DType) String() string {
	if in := d.info(); in != nil {
		return in.name
	}
	return "DType(" + strconv.Itoa(int(d)) + ")"
}

// Bits returns the bits one element takes, 0 for an invalid type.
// Some types (F4, F6_*) take less than a byte.
func (d DType) Bits() int {
	if in := d.info(); in != nil {
		return in.bits
	}
	return 0
}

// GGUF returns the GGUF tensor type with the same element layout, so that
// a tensor's bytes can be used as they are; ok is false where GGUF has none
// (unsigned integers, FP8, BOOL, ...).
func (d DType) GGUF() (t gguf.Type, ok bool) {
	if in := d.info(); in != nil && in.has {
		return in.gguf, true
	}
	return 0, false
}

// ParseDType looks a type up by its name in a file. Names are
// case-sensitive, as the reference implementation reads them.
func ParseDType(name string) (DType, bool) {
	for d := DType(1); int(d) < len(dtypes); d++ {
		if dtypes[d].name == name {
			return d, true
		}
	}
	return 0, false
}
