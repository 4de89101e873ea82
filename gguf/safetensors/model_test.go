package safetensors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path string, meta map[string]string, tensors ...Tensor) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, meta, tensors); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func f32t(name string, v ...float32) Tensor {
	return Tensor{Name: name, DType: F32, Shape: []int64{int64(len(v))}, Data: f32bytes(v...)}
}

const twoShardIndex = `{
  "metadata": {"total_size": 28},
  "weight_map": {
    "lm_head.weight": "model-00002-of-00002.safetensors",
    "embed.weight": "model-00001-of-00002.safetensors",
    "layers.0.w": "model-00001-of-00002.safetensors",
    "norm.weight": "model-00002-of-00002.safetensors"
  }
}`

// shardedDir writes a two-shard model like transformers' save_pretrained.
func shardedDir(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), map[string]string{"format": "pt"},
		f32t("embed.weight", 1, 2), f32t("layers.0.w", 3))
	writeFile(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), map[string]string{"format": "pt"},
		f32t("norm.weight", 4), f32t("lm_head.weight", 5, 6, 7))
	writeText(t, filepath.Join(dir, IndexName), twoShardIndex)
	return dir
}

func TestModelSharded(t *testing.T) {
	dir := shardedDir(t)
	for _, path := range []string{dir, filepath.Join(dir, IndexName)} {
		m, err := OpenModel(path)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ti := range m.Tensors() {
			names = append(names, ti.Name)
		}
		// Shard by shard in name order, each in header order.
		if want := []string{"embed.weight", "layers.0.w", "norm.weight", "lm_head.weight"}; !slices.Equal(names, want) {
			t.Errorf("Tensors = %v, want %v", names, want)
		}
		if got, want := m.ShardNames(), []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}; !slices.Equal(got, want) {
			t.Errorf("ShardNames = %v, want %v", got, want)
		}
		if got := m.IndexMetadata()["total_size"]; got != float64(28) {
			t.Errorf("IndexMetadata total_size = %v", got)
		}
		for name, want := range map[string][]float32{"embed.weight": {1, 2}, "layers.0.w": {3}, "norm.weight": {4}, "lm_head.weight": {5, 6, 7}} {
			got, err := m.Float32s(name)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("Float32s(%q) = %v, %v; want %v", name, got, err, want)
			}
			ti, data, err := m.Tensor(name)
			if err != nil || ti.Name != name || !bytes.Equal(data, f32bytes(want...)) {
				t.Errorf("Tensor(%q) = %+v, % x, %v", name, ti, data, err)
			}
			if _, ok := m.Lookup(name); !ok {
				t.Errorf("Lookup(%q) failed", name)
			}
		}
		f, ok := m.File("norm.weight")
		if !ok || f != m.Files()[1] || f.Metadata()["format"] != "pt" {
			t.Errorf("File(norm.weight) = %v, %v", f, ok)
		}
		if _, _, err := m.Tensor("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Tensor(nope) error = %v", err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.Tensor("embed.weight"); !errors.Is(err, ErrClosed) {
			t.Errorf("Tensor after Close: %v, want ErrClosed", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}

func TestModelSingle(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, SingleName), nil, f32t("b", 1), f32t("a", 2, 3))
	for _, path := range []string{dir, filepath.Join(dir, SingleName)} {
		m, err := OpenModel(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(m.Tensors()); n != 2 || m.Tensors()[0].Name != "b" {
			t.Errorf("Tensors = %+v", m.Tensors())
		}
		if got, err := m.Float32s("a"); err != nil || !slices.Equal(got, []float32{2, 3}) {
			t.Errorf("Float32s(a) = %v, %v", got, err)
		}
		if m.IndexMetadata() != nil || !slices.Equal(m.ShardNames(), []string{SingleName}) {
			t.Errorf("IndexMetadata %v ShardNames %v", m.IndexMetadata(), m.ShardNames())
		}
		m.Close()
	}
}

func TestModelErrors(t *testing.T) {
	shard1 := "model-00001-of-00002.safetensors"
	for _, tc := range []struct {
		name  string
		index string // "" for no index file
		msg   []string
	}{
		{"missing shard", `{"weight_map":{"embed.weight":"` + shard1 + `","x":"model-00003-of-00003.safetensors"}}`,
			[]string{`shard "model-00003-of-00003.safetensors"`, "no such file"}},
		{"tensor not in its shard", `{"weight_map":{"embed.weight":"` + shard1 + `","norm.weight":"` + shard1 + `"}}`,
			[]string{`tensor "norm.weight"`, `puts it in shard "` + shard1 + `", which does not hold it`}},
		{"shard outside the directory", `{"weight_map":{"w":"../` + shard1 + `"}}`,
			[]string{`tensor "w"`, "not a path inside the index's directory"}},
		{"absolute shard path", `{"weight_map":{"w":"/etc/passwd"}}`, []string{"not a path inside"}},
		{"empty shard name", `{"weight_map":{"w":""}}`, []string{"not a path inside"}},
		{"empty weight_map", `{"metadata":{},"weight_map":{}}`, []string{"empty one"}},
		{"no weight_map", `{"metadata":{}}`, []string{"no weight_map"}},
		{"duplicate tensor", `{"weight_map":{"w":"` + shard1 + `","w":"` + shard1 + `"}}`, []string{"duplicate"}},
		{"weight_map value not string", `{"weight_map":{"w":1}}`, []string{`tensor "w"`, "not a file name"}},
		{"weight_map not object", `{"weight_map":[]}`, []string{"weight_map is not an object"}},
		{"metadata not object", `{"metadata":[1],"weight_map":{}}`, []string{"cannot read the index metadata", "array"}},
		{"not an object", `[]`, []string{"index is not a JSON object"}},
		{"truncated", `{"weight_map":{"w":`, []string{"index JSON ends early"}},
		{"bad JSON", `{"weight_map" {}}`, []string{"invalid index JSON"}},
		{"bad shard", `{"weight_map":{"w":"bad.safetensors"}}`, []string{`shard "bad.safetensors"`, "header length"}},
		{"no model files", "", []string{"holds neither"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shardedDir(t)
			writeText(t, filepath.Join(dir, "bad.safetensors"), "\xff\xff\xff\xff\xff\xff\xff\x00{}")
			idx := filepath.Join(dir, IndexName)
			if tc.index == "" {
				os.Remove(idx)
			} else {
				writeText(t, idx, tc.index)
			}
			m, err := OpenModel(dir)
			if err == nil {
				m.Close()
				t.Fatal("OpenModel succeeded")
			}
			for _, want := range tc.msg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if tc.name == "missing shard" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("error %q does not wrap os.ErrNotExist", err)
			}
			if tc.index != "" && !strings.Contains(err.Error(), idx) {
				t.Errorf("error %q does not name the index %s", err, idx)
			}
		})
	}
	if _, err := OpenModel(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenModel(missing) error = %v", err)
	}
}

func TestModelSubdirShards(t *testing.T) {
	// diffusers keeps an index beside its shards under a component folder;
	// shard names may also hold a folder below the index.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "part", "a.safetensors"), nil, f32t("w", 9))
	idx := filepath.Join(dir, "diffusion_pytorch_model.safetensors.index.json")
	writeText(t, idx, `{"weight_map":{"w":"part/a.safetensors"}}`)
	m, err := OpenModel(idx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got, err := m.Float32s("w"); err != nil || !slices.Equal(got, []float32{9}) {
		t.Errorf("Float32s(w) = %v, %v", got, err)
	}
}

func TestModelUnmappedTensorHidden(t *testing.T) {
	dir := shardedDir(t)
	writeText(t, filepath.Join(dir, IndexName), `{"weight_map":{"embed.weight":"model-00001-of-00002.safetensors"}}`)
	m, err := OpenModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n := len(m.Tensors()); n != 1 {
		t.Errorf("%d tensors, want only the mapped one", n)
	}
	if _, _, err := m.Tensor("layers.0.w"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unmapped tensor: %v, want ErrNotFound", err)
	}
	if len(m.Files()) != 1 {
		t.Errorf("%d shards opened, want 1", len(m.Files()))
	}
}

func TestZeroModel(t *testing.T) {
	var m Model
	if len(m.Tensors()) != 0 {
		t.Error("zero Model has tensors")
	}
	if _, _, err := m.Tensor("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tensor on zero Model: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
}
