package gguf

import (
	"fmt"
	"strings"
)

// Type is a tensor element type, numbered as ggml numbers them in GGUF files.
type Type uint32

// Tensor types. The numbers are ggml's (ggml.h, enum ggml_type); gaps are
// types ggml has removed.
const (
	TypeF32     Type = 0
	TypeF16     Type = 1
	TypeQ4_0    Type = 2
	TypeQ4_1    Type = 3
	TypeQ5_0    Type = 6
	TypeQ5_1    Type = 7
	TypeQ8_0    Type = 8
	TypeQ8_1    Type = 9
	TypeQ2_K    Type = 10
	TypeQ3_K    Type = 11
	TypeQ4_K    Type = 12
	TypeQ5_K    Type = 13
	TypeQ6_K    Type = 14
	TypeQ8_K    Type = 15
	TypeIQ2_XXS Type = 16
	TypeIQ2_XS  Type = 17
	TypeIQ3_XXS Type = 18
	TypeIQ1_S   Type = 19
	TypeIQ4_NL  Type = 20
	TypeIQ3_S   Type = 21
	TypeIQ2_S   Type = 22
	TypeIQ4_XS  Type = 23
	TypeI8      Type = 24
	TypeI16     Type = 25
	TypeI32     Type = 26
	TypeI64     Type = 27
	TypeF64     Type = 28
	TypeIQ1_M   Type = 29
	TypeBF16    Type = 30
	TypeTQ1_0   Type = 34
	TypeTQ2_0   Type = 35
	TypeMXFP4   Type = 39
)

// Traits describes one tensor type. Everything that depends on a type
// (sizes, conversion, later the dot kernels) is looked up here rather than
// switched on elsewhere; adding a type means adding one row to typeTable.
type Traits struct {
	Name      string
	BlockSize int // elements per block
	TypeSize  int // bytes per block

	// Dequantize converts len(dst) elements (a multiple of BlockSize) from
	// src (len(dst)/BlockSize*TypeSize bytes). Nil when owl cannot decode
	// the type.
	Dequantize func(dst []float32, src []byte)
	// Quantize converts len(src) elements (a multiple of BlockSize) into dst
	// as ggml's reference quantizer does (no importance matrix). Nil when
	// owl cannot encode the type.
	Quantize func(dst []byte, src []float32)
}

// typeTable is the one table of tensor types, indexed by Type.
var typeTable = map[Type]*Traits{
	TypeF32:     {Name: "F32", BlockSize: 1, TypeSize: 4, Dequantize: dequantF32, Quantize: quantF32},
	TypeF16:     {Name: "F16", BlockSize: 1, TypeSize: 2, Dequantize: dequantF16, Quantize: quantF16},
	TypeQ4_0:    {Name: "Q4_0", BlockSize: 32, TypeSize: 18, Dequantize: dequantQ4_0, Quantize: quantQ4_0},
	TypeQ4_1:    {Name: "Q4_1", BlockSize: 32, TypeSize: 20, Dequantize: dequantQ4_1, Quantize: quantQ4_1},
	TypeQ5_0:    {Name: "Q5_0", BlockSize: 32, TypeSize: 22, Dequantize: dequantQ5_0, Quantize: quantQ5_0},
	TypeQ5_1:    {Name: "Q5_1", BlockSize: 32, TypeSize: 24, Dequantize: dequantQ5_1, Quantize: quantQ5_1},
	TypeQ8_0:    {Name: "Q8_0", BlockSize: 32, TypeSize: 34, Dequantize: dequantQ8_0, Quantize: quantQ8_0},
	TypeQ8_1:    {Name: "Q8_1", BlockSize: 32, TypeSize: 36, Dequantize: dequantQ8_1, Quantize: quantQ8_1},
	TypeQ2_K:    {Name: "Q2_K", BlockSize: 256, TypeSize: 84, Dequantize: dequantQ2_K, Quantize: quantQ2_K},
	TypeQ3_K:    {Name: "Q3_K", BlockSize: 256, TypeSize: 110, Dequantize: dequantQ3_K, Quantize: quantQ3_K},
	TypeQ4_K:    {Name: "Q4_K", BlockSize: 256, TypeSize: 144, Dequantize: dequantQ4_K, Quantize: quantQ4_K},
	TypeQ5_K:    {Name: "Q5_K", BlockSize: 256, TypeSize: 176, Dequantize: dequantQ5_K, Quantize: quantQ5_K},
	TypeQ6_K:    {Name: "Q6_K", BlockSize: 256, TypeSize: 210, Dequantize: dequantQ6_K, Quantize: quantQ6_K},
	TypeQ8_K:    {Name: "Q8_K", BlockSize: 256, TypeSize: 292, Dequantize: dequantQ8_K, Quantize: quantQ8_K},
	TypeIQ2_XXS: {Name: "IQ2_XXS", BlockSize: 256, TypeSize: 66},
	TypeIQ2_XS:  {Name: "IQ2_XS", BlockSize: 256, TypeSize: 74},
	TypeIQ3_XXS: {Name: "IQ3_XXS", BlockSize: 256, TypeSize: 98},
	TypeIQ1_S:   {Name: "IQ1_S", BlockSize: 256, TypeSize: 50},
	TypeIQ4_NL:  {Name: "IQ4_NL", BlockSize: 32, TypeSize: 18, Dequantize: dequantIQ4_NL, Quantize: quantIQ4_NL},
	TypeIQ3_S:   {Name: "IQ3_S", BlockSize: 256, TypeSize: 110},
	TypeIQ2_S:   {Name: "IQ2_S", BlockSize: 256, TypeSize: 82},
	TypeIQ4_XS:  {Name: "IQ4_XS", BlockSize: 256, TypeSize: 136, Dequantize: dequantIQ4_XS, Quantize: quantIQ4_XS},
	TypeI8:      {Name: "I8", BlockSize: 1, TypeSize: 1, Dequantize: dequantI8},
	TypeI16:     {Name: "I16", BlockSize: 1, TypeSize: 2, Dequantize: dequantI16},
	TypeI32:     {Name: "I32", BlockSize: 1, TypeSize: 4, Dequantize: dequantI32},
	TypeI64:     {Name: "I64", BlockSize: 1, TypeSize: 8, Dequantize: dequantI64},
	TypeF64:     {Name: "F64", BlockSize: 1, TypeSize: 8, Dequantize: dequantF64},
	TypeIQ1_M:   {Name: "IQ1_M", BlockSize: 256, TypeSize: 56},
	TypeBF16:    {Name: "BF16", BlockSize: 1, TypeSize: 2, Dequantize: dequantBF16, Quantize: quantBF16},
	TypeTQ1_0:   {Name: "TQ1_0", BlockSize: 256, TypeSize: 54},
	TypeTQ2_0:   {Name: "TQ2_0", BlockSize: 256, TypeSize: 66},
	TypeMXFP4:   {Name: "MXFP4", BlockSize: 32, TypeSize: 17},
}

// Traits returns the row of the type table for t, or nil for an unknown type.
func (t Type) Traits() *Traits { return typeTable[t] }

// Known reports whether t is a type owl knows the layout of.
func (t Type) Known() bool { return typeTable[t] != nil }

func (t Type) String() string {
	if tr := typeTable[t]; tr != nil {
		return tr.Name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// RowSize returns the bytes that n elements of type t occupy. n must be a
// multiple of the block size; ok is false otherwise or for an unknown type.
func (t Type) RowSize(n int64) (size int64, ok bool) {
	tr := typeTable[t]
	if tr == nil || n < 0 || n%int64(tr.BlockSize) != 0 {
		return 0, false
	}
	return n / int64(tr.BlockSize) * int64(tr.TypeSize), true
}

// Types returns every known type in ascending numeric order.
func Types() []Type {
	out := make([]Type, 0, len(typeTable))
	for t := Type(0); t < 64; t++ {
		if typeTable[t] != nil {
			out = append(out, t)
		}
	}
	return out
}

// ParseType looks a type up by its name (case-insensitive, "q4_k" or "Q4_K").
func ParseType(name string) (Type, bool) {
	for t, tr := range typeTable {
		if strings.EqualFold(tr.Name, name) {
			return t, true
		}
	}
	return 0, false
}
