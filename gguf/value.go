package gguf

import (
	"fmt"
	"math"
)

// ValueType is the type tag of a metadata value, as GGUF numbers them.
type ValueType uint32

// Metadata value types.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

// scalarSize is the encoded size of each fixed-size value type; strings and
// arrays are variable.
var scalarSize = [...]int{
	ValueUint8: 1, ValueInt8: 1, ValueUint16: 2, ValueInt16: 2,
	ValueUint32: 4, ValueInt32: 4, ValueFloat32: 4, ValueBool: 1,
	ValueString: 8, ValueArray: 12, ValueUint64: 8, ValueInt64: 8, ValueFloat64: 8,
}

var valueTypeNames = [...]string{
	"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool", "string", "array", "uint64", "int64", "float64",
}

func (t ValueType) valid() bool { return t <= ValueFloat64 }

func (t ValueType) String() string {
	if t.valid() {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(t))
}

// Value is one metadata value. Data holds a Go value of the matching type:
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64 or float64; for an array, a slice of that type ([]string, []int32, …),
// or []Value when the elements are themselves arrays.
type Value struct {
	Type ValueType
	Elem ValueType // element type when Type == ValueArray
	Data any
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// ValueOf wraps a Go value (one of the types listed on Value, a slice of
// them, or []Value of arrays) as a Value.
func ValueOf(x any) (Value, error) {
	switch v := x.(type) {
	case uint8:
		return Value{Type: ValueUint8, Data: v}, nil
	case int8:
		return Value{Type: ValueInt8, Data: v}, nil
	case uint16:
		return Value{Type: ValueUint16, Data: v}, nil
	case int16:
		return Value{Type: ValueInt16, Data: v}, nil
	case uint32:
		return Value{Type: ValueUint32, Data: v}, nil
	case int32:
		return Value{Type: ValueInt32, Data: v}, nil
	case float32:
		return Value{Type: ValueFloat32, Data: v}, nil
	case bool:
		return Value{Type: ValueBool, Data: v}, nil
	case string:
		return Value{Type: ValueString, Data: v}, nil
	case uint64:
		return Value{Type: ValueUint64, Data: v}, nil
	case int64:
		return Value{Type: ValueInt64, Data: v}, nil
	case float64:
		return Value{Type: ValueFloat64, Data: v}, nil
	case []uint8:
		return Value{Type: ValueArray, Elem: ValueUint8, Data: v}, nil
	case []int8:
		return Value{Type: ValueArray, Elem: ValueInt8, Data: v}, nil
	case []uint16:
		return Value{Type: ValueArray, Elem: ValueUint16, Data: v}, nil
	case []int16:
		return Value{Type: ValueArray, Elem: ValueInt16, Data: v}, nil
	case []uint32:
		return Value{Type: ValueArray, Elem: ValueUint32, Data: v}, nil
	case []int32:
		return Value{Type: ValueArray, Elem: ValueInt32, Data: v}, nil
	case []float32:
		return Value{Type: ValueArray, Elem: ValueFloat32, Data: v}, nil
	case []bool:
		return Value{Type: ValueArray, Elem: ValueBool, Data: v}, nil
	case []string:
		return Value{Type: ValueArray, Elem: ValueString, Data: v}, nil
	case []uint64:
		return Value{Type: ValueArray, Elem: ValueUint64, Data: v}, nil
	case []int64:
		return Value{Type: ValueArray, Elem: ValueInt64, Data: v}, nil
	case []float64:
		return Value{Type: ValueArray, Elem: ValueFloat64, Data: v}, nil
	case []Value:
		for i, e := range v {
			if e.Type != ValueArray {
				return Value{}, fmt.Errorf("gguf: array of arrays: element %d is %s", i, e.Type)
			}
		}
		return Value{Type: ValueArray, Elem: ValueArray, Data: v}, nil
	case Value:
		return v, nil
	}
	return Value{}, fmt.Errorf("gguf: no metadata type for Go type %T", x)
}

// Len is the number of elements of an array value, or 0.
func (v Value) Len() int {
	switch d := v.Data.(type) {
	case []uint8:
		return len(d)
	case []int8:
		return len(d)
	case []uint16:
		return len(d)
	case []int16:
		return len(d)
	case []uint32:
		return len(d)
	case []int32:
		return len(d)
	case []float32:
		return len(d)
	case []bool:
		return len(d)
	case []string:
		return len(d)
	case []uint64:
		return len(d)
	case []int64:
		return len(d)
	case []float64:
		return len(d)
	case []Value:
		return len(d)
	}
	return 0
}

// integer returns a scalar integer value widened to int64 (uint64 values
// above MaxInt64 report ok=false through big).
func (v Value) integer() (i int64, big bool, ok bool) {
	switch d := v.Data.(type) {
	case uint8:
		return int64(d), false, true
	case int8:
		return int64(d), false, true
	case uint16:
		return int64(d), false, true
	case int16:
		return int64(d), false, true
	case uint32:
		return int64(d), false, true
	case int32:
		return int64(d), false, true
	case uint64:
		if d > math.MaxInt64 {
			return 0, true, true
		}
		return int64(d), false, true
	case int64:
		return d, false, true
	}
	return 0, false, false
}

// ints widens an integer array to int64s.
func (v Value) ints() ([]int64, bool) {
	conv := func(n int, at func(int) int64) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	switch d := v.Data.(type) {
	case []uint8:
		return conv(len(d), func(i int) int64 { return int64(d[i]) }), true
	case []int8:
		return conv(len(d), func(i int) int64 { return int64(d[i]) }), true
	case []uint16:
		return conv(len(d), func(i int) int64 { return int64(d[i]) }), true
	case []int16:
		return conv(len(d), func(i int) int64 { return int64(d[i]) }), true
	case []uint32:
		return conv(len(d), func(i int) int64 { return int64(d[i]) }), true
	case []int32:
		return conv(len(d), func(i int) int64 { return int64(d[i]) }), true
	case []int64:
		return d, true
	case []uint64:
		out := make([]int64, len(d))
		for i, x := range d {
			if x > math.MaxInt64 {
				return nil, false
			}
			out[i] = int64(x)
		}
		return out, true
	}
	return nil, false
}

// typeName describes v's type for error messages ("string", "array of int32").
func (v Value) typeName() string {
	if v.Type == ValueArray {
		return "array of " + v.Elem.String()
	}
	return v.Type.String()
}
