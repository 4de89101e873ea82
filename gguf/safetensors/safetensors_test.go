package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openweights/owl/gguf"
)

// build assembles a file from a raw header and data section, so tests can
// write headers no writer would.
func build(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func f32bytes(v ...float32) []byte {
	var out []byte
	for _, x := range v {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
	}
	return out
}

// Files the reference implementation (huggingface/safetensors, tensor.rs
// tests and docs) writes, byte for byte.
var referenceFiles = []struct {
	name     string
	file     string
	tensors  []TensorInfo
	metadata map[string]string
	data     map[string][]byte
	handmade bool // not the reference writer's output: unpadded
}{
	{
		name: "serialization",
		file: "\x40\x00\x00\x00\x00\x00\x00\x00" +
			`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}` +
			"\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40",
		tensors: []TensorInfo{{Name: "attn.0", DType: F32, Shape: []int64{1, 2, 3}, Begin: 0, End: 24}},
		data:    map[string][]byte{"attn.0": f32bytes(0, 1, 2, 3, 4, 5)},
	},
	{
		name: "forced alignment",
		file: "\x48\x00\x00\x00\x00\x00\x00\x00" +
			`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}` + "       " +
			"\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40",
		tensors: []TensorInfo{{Name: "attn0", DType: F32, Shape: []int64{1, 1, 2, 3}, Begin: 0, End: 24}},
		data:    map[string][]byte{"attn0": f32bytes(0, 1, 2, 3, 4, 5)},
	},
	{
		name: "empty",
		file: "\x08\x00\x00\x00\x00\x00\x00\x00{}      ",
	},
	{
		name:     "empty with metadata",
		file:     "\x28\x00\x00\x00\x00\x00\x00\x00" + `{"__metadata__":{"framework":"pt"}}` + "     ",
		metadata: map[string]string{"framework": "pt"},
	},
	{
		name: "doc example",
		file: "<\x00\x00\x00\x00\x00\x00\x00" + `{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}` +
			strings.Repeat("\x00", 16),
		tensors:  []TensorInfo{{Name: "test", DType: I32, Shape: []int64{2, 2}, Begin: 0, End: 16}},
		data:     map[string][]byte{"test": make([]byte, 16)},
		handmade: true,
	},
}

func TestReferenceFiles(t *testing.T) {
	for _, tc := range referenceFiles {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Tensors(); !equalInfos(got, tc.tensors) {
				t.Errorf("Tensors = %+v, want %+v", got, tc.tensors)
			}
			if got := f.Metadata(); !reflect.DeepEqual(got, tc.metadata) {
				t.Errorf("Metadata = %v, want %v", got, tc.metadata)
			}
			var ws []Tensor
			for _, ti := range tc.tensors {
				_, data, err := f.Tensor(ti.Name)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(data, tc.data[ti.Name]) {
					t.Errorf("Tensor(%q) = % x, want % x", ti.Name, data, tc.data[ti.Name])
				}
				ws = append(ws, Tensor{Name: ti.Name, DType: ti.DType, Shape: ti.Shape, Data: data})
			}
			if tc.handmade {
				return
			}
			// Write must reproduce the reference writer's bytes.
			var buf bytes.Buffer
			if err := Write(&buf, tc.metadata, ws); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.file {
				t.Errorf("Write =\n%q\nwant\n%q", buf.String(), tc.file)
			}
		})
	}
}

func equalInfos(a, b []TensorInfo) bool {
	return slices.EqualFunc(a, b, func(x, y TensorInfo) bool {
		return x.Name == y.Name && x.DType == y.DType && slices.Equal(x.Shape, y.Shape) && x.Begin == y.Begin && x.End == y.End
	})
}

func TestParse(t *testing.T) {
	data := make([]byte, 64)
	for i := range data {
		data[i] = byte(i)
	}
	for _, tc := range []struct {
		name     string
		header   string
		data     []byte
		tensors  []TensorInfo
		metadata map[string]string
	}{
		{
			name: "header order is kept, not offset order",
			header: `{"z":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},` +
				`"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`,
			data: data[:12],
			tensors: []TensorInfo{
				{Name: "z", DType: F16, Shape: []int64{2}, Begin: 8, End: 12},
				{Name: "a", DType: U8, Shape: []int64{8}, Begin: 0, End: 8},
			},
		},
		{
			name: "metadata anywhere, whitespace, unknown keys skipped",
			header: " "[1:] + "{\n \"w\" : {\"shape\": [1, 2], \"x\": {\"y\": [1, {}]}, \"data_offsets\": [0, 16], \"dtype\": \"I64\"},\n" +
				" \"__metadata__\": {\"format\": \"pt\", \"\\u00e9\": \"a\\nb\"}\n}\t\r\n   ",
			data:     data[:16],
			tensors:  []TensorInfo{{Name: "w", DType: I64, Shape: []int64{1, 2}, Begin: 0, End: 16}},
			metadata: map[string]string{"format": "pt", "é": "a\nb"},
		},
		{
			name:   "scalar, empty tensor, sub-byte types",
			header: `{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[3,0],"data_offsets":[8,8]},"f4":{"dtype":"F4","shape":[2,3],"data_offsets":[8,11]},"f6":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[11,14]}}`,
			data:   data[:14],
			tensors: []TensorInfo{
				{Name: "s", DType: F64, Shape: []int64{}, Begin: 0, End: 8},
				{Name: "e", DType: F32, Shape: []int64{3, 0}, Begin: 8, End: 8},
				{Name: "f4", DType: F4, Shape: []int64{2, 3}, Begin: 8, End: 11},
				{Name: "f6", DType: F6E2M3, Shape: []int64{4}, Begin: 11, End: 14},
			},
		},
		{
			name:   "empty tensors sharing an offset",
			header: `{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"BOOL","shape":[0,5],"data_offsets":[4,4]},"d":{"dtype":"BF16","shape":[0],"data_offsets":[0,0]}}`,
			data:   data[:4],
			tensors: []TensorInfo{
				{Name: "a", DType: F32, Shape: []int64{0}, Begin: 4, End: 4},
				{Name: "b", DType: I32, Shape: []int64{1}, Begin: 0, End: 4},
				{Name: "c", DType: Bool, Shape: []int64{0, 5}, Begin: 4, End: 4},
				{Name: "d", DType: BF16, Shape: []int64{0}, Begin: 0, End: 0},
			},
		},
		{
			name:   "null metadata, -0 and every 8-bit type",
			header: `{"__metadata__":null,"a":{"dtype":"F8_E4M3","shape":[-0],"data_offsets":[0,0]},"b":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[0,1]},"c":{"dtype":"F8_E8M0","shape":[1],"data_offsets":[1,2]},"d":{"dtype":"I8","shape":[1],"data_offsets":[2,3]}}`,
			data:   data[:3],
			tensors: []TensorInfo{
				{Name: "a", DType: F8E4M3, Shape: []int64{0}, Begin: 0, End: 0},
				{Name: "b", DType: F8E5M2, Shape: []int64{1}, Begin: 0, End: 1},
				{Name: "c", DType: F8E8M0, Shape: []int64{1}, Begin: 1, End: 2},
				{Name: "d", DType: I8, Shape: []int64{1}, Begin: 2, End: 3},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := build(tc.header, tc.data)
			f, err := Parse(file)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Tensors(); !equalInfos(got, tc.tensors) {
				t.Errorf("Tensors = %+v, want %+v", got, tc.tensors)
			}
			if got := f.Metadata(); !reflect.DeepEqual(got, tc.metadata) {
				t.Errorf("Metadata = %v, want %v", got, tc.metadata)
			}
			if got, want := f.DataOffset(), int64(8+len(tc.header)); got != want {
				t.Errorf("DataOffset = %d, want %d", got, want)
			}
			for _, ti := range tc.tensors {
				info, b, err := f.Tensor(ti.Name)
				if err != nil {
					t.Fatal(err)
				}
				if !equalInfos([]TensorInfo{info}, []TensorInfo{ti}) {
					t.Errorf("Tensor(%q) info = %+v", ti.Name, info)
				}
				if !bytes.Equal(b, tc.data[ti.Begin:ti.End]) {
					t.Errorf("Tensor(%q) = % x, want % x", ti.Name, b, tc.data[ti.Begin:ti.End])
				}
				// The bytes are the caller's buffer, not a copy.
				if len(b) > 0 && &b[0] != &file[f.DataOffset()+ti.Begin] {
					t.Errorf("Tensor(%q) data is a copy", ti.Name)
				}
				if cap(b) != len(b) {
					t.Errorf("Tensor(%q) has cap %d > len %d: appending would overwrite the next tensor", ti.Name, cap(b), len(b))
				}
			}
			if _, _, err := f.Tensor("missing"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"missing"`) {
				t.Errorf("Tensor(missing) error = %v, want ErrNotFound naming it", err)
			}
		})
	}
}

const anyOffset = -2

func TestParseErrors(t *testing.T) {
	f32 := func(name string, shape string, begin, end int) string {
		return `"` + name + `":{"dtype":"F32","shape":` + shape + `,"data_offsets":[` + strconv.Itoa(begin) + `,` + strconv.Itoa(end) + `]}`
	}
	for _, tc := range []struct {
		name   string
		file   []byte // the whole file, or nil to build it from header and data
		header string
		data   []byte
		msg    string // in the error
		tensor string // FormatError.Tensor
		off    int64  // FormatError.Offset: absolute, or anyOffset
		inData bool   // off is relative to the data section
	}{
		{name: "empty file", file: []byte{}, msg: "shorter than the 8-byte header length", off: -1},
		{name: "truncated length", file: []byte{2, 0, 0}, msg: "file of 3 bytes", off: -1},
		{name: "header over limit", file: append(binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1), "{}"...), msg: "over the limit", off: 0},
		{name: "header length 2^64-1", file: append(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "{}"...), msg: "over the limit", off: 0},
		{name: "header past end", file: append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), msg: "header length 100 runs past the end of the 10-byte file", off: 0},
		{name: "header length zero", file: binary.LittleEndian.AppendUint64(nil, 0), msg: "does not start with '{'", off: 8},
		{name: "header starts with space", header: ` {}`, msg: "does not start with '{'", off: 8},
		{name: "header truncated", header: `{"a":{"dtype":"F32"`, msg: "JSON ends early", tensor: "a", off: 8 + 19},
		{name: "syntax error", header: `{"a" 1}`, msg: "invalid header JSON", tensor: "a", off: 8 + 5},
		{name: "invalid UTF-8", header: "{\"\xff\":{}}", msg: "invalid header JSON", off: anyOffset},
		{name: "second JSON value", header: `{}{}`, msg: "data after its JSON object", off: 8 + 2},
		{name: "trailing garbage", header: `{}  x`, msg: "invalid header JSON", off: 8 + 4},
		{name: "NUL padding", header: "{}\x00\x00", msg: "invalid header JSON", off: anyOffset},
		{name: "duplicate tensor", header: `{` + f32("a", "[1]", 0, 4) + `,` + f32("a", "[1]", 0, 4) + `}`, data: make([]byte, 4), msg: "duplicate", off: anyOffset},
		{name: "duplicate tensor via escape", header: `{` + f32("a", "[1]", 0, 4) + `,` + f32(`\u0061`, "[1]", 0, 4) + `}`, data: make([]byte, 4), msg: "duplicate", off: anyOffset},
		{name: "duplicate field", header: `{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, data: make([]byte, 4), msg: "duplicate", tensor: "a", off: anyOffset},
		{name: "duplicate metadata", header: `{"__metadata__":{},"__metadata__":{}}`, msg: "duplicate", off: anyOffset},
		{name: "metadata not object", header: `{"__metadata__":[]}`, msg: "__metadata__ is not an object", off: 8 + 16},
		{name: "metadata value not string", header: `{"__metadata__":{"k":1}}`, msg: `__metadata__ value of "k" is not a string`, off: 8 + 21},
		{name: "entry not object", header: `{"a":[]}`, msg: "entry is not a JSON object", tensor: "a", off: 8 + 5},
		{name: "entry null", header: `{"a":null}`, msg: "entry is not a JSON object", tensor: "a", off: 8 + 5},
		{name: "no dtype", header: `{"a":{"shape":[],"data_offsets":[0,0]}}`, msg: "no dtype", tensor: "a", off: 8 + 5},
		{name: "no shape", header: `{"a":{"dtype":"F32","data_offsets":[0,0]}}`, msg: "no shape", tensor: "a", off: 8 + 5},
		{name: "no data_offsets", header: `{"a":{"dtype":"F32","shape":[0]}}`, msg: "no data_offsets", tensor: "a", off: 8 + 5},
		{name: "unknown dtype", header: `{"a":{"dtype":"F17","shape":[],"data_offsets":[0,4]}}`, msg: `unknown dtype "F17"`, tensor: "a", off: 8 + 14},
		{name: "dtype is case-sensitive", header: `{"a":{"dtype":"f32","shape":[],"data_offsets":[0,4]}}`, msg: `unknown dtype "f32"`, tensor: "a", off: 8 + 14},
		{name: "dtype not string", header: `{"a":{"dtype":32,"shape":[],"data_offsets":[0,4]}}`, msg: "dtype is not a string", tensor: "a", off: 8 + 14},
		{name: "shape not array", header: `{"a":{"dtype":"F32","shape":4,"data_offsets":[0,4]}}`, msg: "shape is not an array", tensor: "a", off: 8 + 28},
		{name: "shape holds string", header: `{"a":{"dtype":"F32","shape":["4"],"data_offsets":[0,4]}}`, msg: "not a number", tensor: "a", off: 8 + 29},
		{name: "negative dimension", header: `{"a":{"dtype":"F32","shape":[1,-1],"data_offsets":[0,4]}}`, msg: "shape holds -1, a negative number", tensor: "a", off: 8 + 31},
		{name: "fractional dimension", header: `{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}`, msg: "shape holds 1.0, not an integer", tensor: "a", off: 8 + 29},
		{name: "exponent dimension", header: `{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, msg: "not an integer", tensor: "a", off: 8 + 29},
		{name: "dimension over int64", header: `{"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}}`, msg: "too large", tensor: "a", off: 8 + 29},
		{name: "rank over limit", header: `{"a":{"dtype":"F32","shape":[` + strings.Repeat("1,", 64) + `1],"data_offsets":[0,4]}}`, msg: "shape has more than 64 entries", tensor: "a", off: 8 + 29 + 128},
		{name: "one offset", header: `{"a":{"dtype":"F32","shape":[],"data_offsets":[0]}}`, msg: "data_offsets is not [begin, end]", tensor: "a", off: 8 + 46},
		{name: "three offsets", header: `{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4,8]}}`, msg: "data_offsets has more than 2 entries", tensor: "a", off: 8 + 51},
		{name: "negative offset", header: `{"a":{"dtype":"F32","shape":[],"data_offsets":[-4,0]}}`, msg: "negative", tensor: "a", off: 8 + 47},
		{name: "end before begin", header: `{` + f32("a", "[0]", 4, 0) + `}`, data: make([]byte, 4), msg: "end before they begin", tensor: "a", off: 4, inData: true},
		{name: "end past data", header: `{` + f32("a", "[2]", 0, 8) + `}`, data: make([]byte, 4), msg: "data_offsets [0, 8] run past the end of the 4-byte data section", tensor: "a", off: 0, inData: true},
		{name: "begin past data", header: `{` + f32("a", "[0]", 9, 9) + `}`, data: make([]byte, 4), msg: "run past the end", tensor: "a", off: -1},
		{name: "huge offsets", header: `{` + f32("a", "[0]", 9223372036854775807, 9223372036854775807) + `}`, msg: "run past the end", tensor: "a", off: -1},
		{name: "size mismatch", header: `{` + f32("a", "[3]", 0, 8) + `}`, data: make([]byte, 8), msg: "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8", tensor: "a", off: 0, inData: true},
		{name: "scalar size mismatch", header: `{` + f32("a", "[]", 0, 0) + `}`, msg: "needs 4 bytes", tensor: "a", off: 0, inData: true},
		{name: "element count overflow", header: `{` + f32("a", "[4294967296,4294967296]", 0, 0) + `}`, msg: "too many elements", tensor: "a", off: 0, inData: true},
		{name: "overflow before a zero", header: `{` + f32("a", "[4294967296,4294967296,0]", 0, 0) + `}`, msg: "too many elements", tensor: "a", off: 0, inData: true},
		{name: "elements over int64", header: `{` + f32("a", "[4611686018427387904,2]", 0, 0) + `}`, msg: "too many elements", tensor: "a", off: 0, inData: true},
		{name: "byte count overflow", header: `{` + f32("a", "[4611686018427387904]", 0, 0) + `}`, msg: "too large", tensor: "a", off: 0, inData: true},
		{name: "F4 half byte", header: `{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, data: make([]byte, 2), msg: "3 elements of F4 do not fill whole bytes", tensor: "a", off: 0, inData: true},
		{name: "gap between tensors", header: `{` + f32("a", "[1]", 0, 4) + `,` + f32("b", "[1]", 8, 12) + `}`, data: make([]byte, 12), msg: "leave bytes [4, 8) of the data section to no tensor", tensor: "b", off: 4, inData: true},
		{name: "gap at start", header: `{` + f32("a", "[1]", 4, 8) + `}`, data: make([]byte, 8), msg: "leave bytes [0, 4)", tensor: "a", off: 0, inData: true},
		{name: "overlap", header: `{` + f32("a", "[2]", 0, 8) + `,` + f32("b", "[2]", 4, 12) + `}`, data: make([]byte, 12), msg: `overlap tensor "a", which ends at 8`, tensor: "b", off: 4, inData: true},
		{name: "aliased tensors", header: `{` + f32("b", "[1]", 0, 4) + `,` + f32("a", "[1]", 0, 4) + `}`, data: make([]byte, 4), msg: "overlap tensor", tensor: "a", off: 0, inData: true},
		{name: "trailing data", header: `{` + f32("a", "[1]", 0, 4) + `}`, data: make([]byte, 6), msg: "tensors cover 4 bytes of the 6-byte data section", off: 4, inData: true},
		{name: "data without tensors", header: `{}`, data: make([]byte, 1), msg: "cover 0 bytes of the 1-byte data section", off: 0, inData: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file == nil {
				file = build(tc.header, tc.data)
			}
			f, err := Parse(file)
			if err == nil {
				t.Fatalf("Parse succeeded with tensors %+v", f.Tensors())
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FormatError", err, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if fe.Tensor != tc.tensor {
				t.Errorf("error %q names tensor %q, want %q", err, fe.Tensor, tc.tensor)
			}
			want := tc.off
			if tc.inData {
				want += int64(8 + len(tc.header))
			}
			if tc.off != anyOffset && fe.Offset != want {
				t.Errorf("error %q at offset %d, want %d", err, fe.Offset, want)
			}
			if !strings.HasPrefix(err.Error(), "safetensors: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestFloat32s(t *testing.T) {
	f16 := func(v ...uint16) []byte {
		var out []byte
		for _, x := range v {
			out = binary.LittleEndian.AppendUint16(out, x)
		}
		return out
	}
	var f64 []byte
	for _, x := range []float64{1.5, -1e300, 0.1} {
		f64 = binary.LittleEndian.AppendUint64(f64, math.Float64bits(x))
	}
	inf := float32(math.Inf(1))
	tensors := []Tensor{
		{Name: "f32", DType: F32, Shape: []int64{2, 2}, Data: f32bytes(1, -2.5, 3e38, float32(math.SmallestNonzeroFloat32))},
		// 1, -2, 65504 (largest), 2^-24 (smallest subnormal), +Inf, 0x3555 ~ 1/3, -0
		{Name: "f16", DType: F16, Shape: []int64{7}, Data: f16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555, 0x8000)},
		// 1, -3, 3.140625, the smallest bfloat16 subnormal
		{Name: "bf16", DType: BF16, Shape: []int64{4}, Data: f16(0x3f80, 0xc040, 0x4049, 0x0001)},
		{Name: "f64", DType: F64, Shape: []int64{3}, Data: f64},
		{Name: "i32", DType: I32, Shape: []int64{1}, Data: make([]byte, 4)},
		{Name: "empty", DType: F16, Shape: []int64{0, 3}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, nil, tensors); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want []float32
	}{
		{"f32", []float32{1, -2.5, 3e38, math.SmallestNonzeroFloat32}},
		{"f16", []float32{1, -2, 65504, 1.0 / (1 << 24), inf, 0.333251953125, float32(math.Copysign(0, -1))}},
		{"bf16", []float32{1, -3, 3.140625, math.Float32frombits(0x00010000)}},
		{"f64", []float32{1.5, float32(math.Inf(-1)), 0.1}},
		{"empty", []float32{}},
	} {
		same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
		got, err := f.Float32s(tc.name)
		if err != nil {
			t.Errorf("Float32s(%q): %v", tc.name, err)
			continue
		}
		if !slices.EqualFunc(got, tc.want, same) {
			t.Errorf("Float32s(%q) = %v, want %v", tc.name, got, tc.want)
		}
		// Float32s uses the GGUF table's converter where there is one;
		// the package's own fallback must agree.
		ti, data, _ := f.Tensor(tc.name)
		own := make([]float32, len(tc.want))
		ti.DType.info().conv(own, data)
		if !slices.EqualFunc(own, tc.want, same) {
			t.Errorf("%v fallback converter gives %v, want %v", ti.DType, own, tc.want)
		}
	}
	if _, err := f.Float32s("i32"); err == nil || !strings.Contains(err.Error(), `"i32"`) || !strings.Contains(err.Error(), "I32") {
		t.Errorf("Float32s(i32) error = %v, want one naming the tensor and dtype", err)
	}
	if _, err := f.Float32s("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Float32s(nope) error = %v, want ErrNotFound", err)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.safetensors")
	var buf bytes.Buffer
	want := f32bytes(1, 2, 3)
	if err := Write(&buf, map[string]string{"format": "pt"}, []Tensor{{Name: "w", DType: F32, Shape: []int64{3}, Data: want}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ti, data, err := f.Tensor("w")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) || ti.Elements() != 3 || ti.Size() != 12 {
		t.Errorf("Tensor(w) = %+v % x", ti, data)
	}
	if got := f.Metadata(); got["format"] != "pt" {
		t.Errorf("Metadata = %v", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := f.Tensor("w"); !errors.Is(err, ErrClosed) {
		t.Errorf("Tensor after Close: %v, want ErrClosed", err)
	}
	if len(f.Tensors()) != 1 {
		t.Errorf("Tensors after Close = %v, want the header kept", f.Tensors())
	}

	// A bad file's error names it.
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, buf.Bytes()[:buf.Len()-1], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `tensor "w"`) {
		t.Errorf("Open(truncated) error = %v, want one naming the file and tensor", err)
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) error = %v", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(empty); err == nil {
		t.Error("Open(empty file) succeeded")
	}
}

func TestZeroFile(t *testing.T) {
	var f File
	if len(f.Tensors()) != 0 || f.Metadata() != nil {
		t.Error("zero File is not empty")
	}
	if _, _, err := f.Tensor("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tensor on zero File: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close on zero File: %v", err)
	}
}

func TestDTypes(t *testing.T) {
	var names []string
	for d := DType(0); d < 40; d++ {
		if !d.Valid() {
			if d.Bits() != 0 || !strings.HasPrefix(d.String(), "DType(") {
				t.Errorf("invalid %d: Bits %d String %q", d, d.Bits(), d)
			}
			if _, ok := d.GGUF(); ok {
				t.Errorf("invalid %d maps to GGUF", d)
			}
			continue
		}
		names = append(names, d.String())
		if got, ok := ParseDType(d.String()); !ok || got != d {
			t.Errorf("ParseDType(%q) = %v, %v", d, got, ok)
		}
		if b := d.Bits(); b < 4 || b > 64 {
			t.Errorf("%v: %d bits", d, b)
		}
		// Where a GGUF type is given it must have the same name and element size.
		if gt, ok := d.GGUF(); ok {
			tr := gt.Traits()
			if tr == nil || tr.Name != d.String() || tr.BlockSize != 1 || tr.TypeSize*8 != d.Bits() {
				t.Errorf("%v maps to GGUF %v with traits %+v", d, gt, tr)
			}
		}
	}
	// The reference implementation's dtypes, all of them.
	want := []string{"BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
		"I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"}
	if !slices.Equal(names, want) {
		t.Errorf("dtypes = %v, want %v", names, want)
	}
	for _, want := range []struct {
		d DType
		t gguf.Type
	}{{F32, gguf.TypeF32}, {F16, gguf.TypeF16}, {BF16, gguf.TypeBF16}, {F64, gguf.TypeF64}, {I8, gguf.TypeI8}, {I16, gguf.TypeI16}, {I32, gguf.TypeI32}, {I64, gguf.TypeI64}} {
		if got, ok := want.d.GGUF(); !ok || got != want.t {
			t.Errorf("%v.GGUF() = %v, %v; want %v", want.d, got, ok, want.t)
		}
	}
	for _, d := range []DType{U8, U16, U32, U64, Bool, F8E4M3, F4, C64} {
		if _, ok := d.GGUF(); ok {
			t.Errorf("%v maps to a GGUF type; GGUF has none with its layout", d)
		}
	}
}

// BenchmarkParse parses the header of a 7B-like checkpoint shard: 32
// layers of 9 tensors, names and shapes as Llama's.
func BenchmarkParse(b *testing.B) {
	var ts []Tensor
	for l := range 32 {
		for _, n := range []string{"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "input_layernorm", "post_attention_layernorm"} {
			ts = append(ts, Tensor{Name: "model.layers." + strconv.Itoa(l) + "." + n + ".weight", DType: BF16, Shape: []int64{1, 2}, Data: make([]byte, 4)})
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, map[string]string{"format": "pt"}, ts); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
