package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"testing"
)

// fuzzSeeds are valid and broken files; testdata/fuzz/FuzzParse holds them
// too, with others.
func fuzzSeeds() [][]byte {
	seeds := [][]byte{
		build(`{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2,1],"data_offsets":[4,8]},"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"s":{"dtype":"F32","shape":[],"data_offsets":[8,12]},"q":{"dtype":"F4","shape":[2,2],"data_offsets":[12,14]},"e":{"dtype":"I64","shape":[0,7],"data_offsets":[14,14]}}`,
			[]byte("\x00\x3c\x00\xc0\x80\x3f\x40\xc0\x00\x00\x80\x3f\x12\x34")),
		build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)),
		build(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil),
		build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{}}`, []byte{0}),
		build(`{"a":{"dtype":"X","shape":[1],"data_offsets":[0,1]}}`, []byte{0}),
		append(binary.LittleEndian.AppendUint64(nil, 1<<40), '{'),
	}
	for _, rf := range referenceFiles {
		seeds = append(seeds, []byte(rf.file))
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, not a *FormatError", err, err)
			}
			if fe.Offset < -1 || fe.Offset > int64(len(data)) {
				t.Fatalf("error %v: offset %d outside the %d-byte file", err, fe.Offset, len(data))
			}
			return
		}
		// The tensors tile the data section exactly.
		var total int64
		var ws []Tensor
		for _, ti := range file.Tensors() {
			got, b, err := file.Tensor(ti.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, ti) {
				t.Fatalf("Tensor(%q) = %+v, Tensors has %+v", ti.Name, got, ti)
			}
			size, problem := tensorBytes(ti.DType, ti.Shape)
			if problem != "" || size != int64(len(b)) || size != ti.Size() || ti.Begin < 0 {
				t.Fatalf("tensor %+v: %d bytes, shape needs %d (%s)", ti, len(b), size, problem)
			}
			total += size
			if in := ti.DType.info(); in.conv != nil {
				fs, err := file.Float32s(ti.Name)
				if err != nil || int64(len(fs)) != ti.Elements() {
					t.Fatalf("Float32s(%q): %d values, %v; want %d", ti.Name, len(fs), err, ti.Elements())
				}
			}
			ws = append(ws, Tensor{Name: ti.Name, DType: ti.DType, Shape: ti.Shape, Data: b})
		}
		if total != int64(len(data))-file.DataOffset() {
			t.Fatalf("tensors cover %d bytes of a %d-byte data section", total, int64(len(data))-file.DataOffset())
		}
		// What was read writes back and reads again the same.
		var buf bytes.Buffer
		if err := Write(&buf, file.Metadata(), ws); err != nil {
			t.Fatalf("Write: %v", err)
		}
		again, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("Parse(Write(...)): %v", err)
		}
		if !reflect.DeepEqual(again.Metadata(), file.Metadata()) && len(file.Metadata()) > 0 {
			t.Fatalf("metadata %v became %v", file.Metadata(), again.Metadata())
		}
		tensors := again.Tensors()
		if len(tensors) != len(ws) {
			t.Fatalf("%d tensors became %d", len(ws), len(tensors))
		}
		for i, ti := range tensors {
			_, b, _ := again.Tensor(ti.Name)
			if ti.Name != ws[i].Name || ti.DType != ws[i].DType || !slices.Equal(ti.Shape, ws[i].Shape) || !bytes.Equal(b, ws[i].Data) {
				t.Fatalf("tensor %d %+v became %+v", i, ws[i], ti)
			}
		}
	})
}
