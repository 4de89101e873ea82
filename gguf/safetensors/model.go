package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File names Hugging Face gives a model's weights.
const (
	IndexName  = "model.safetensors.index.json"
	SingleName = "model.safetensors"
)

// Model is a model's tensors across one or more safetensors files: the
// shards that an index (model.safetensors.index.json) names, or a single
// file. The zero value has no tensors.
type Model struct {
	files  []*File // shards, ordered by name
	names  []string
	where  map[string]int // tensor name -> index in files
	meta   map[string]any
	closed bool
}

// OpenModel opens a model's weights. path is a directory holding
// model.safetensors.index.json or model.safetensors, an index file (any
// name ending in .json, as diffusers names its own), or a single
// safetensors file.
//
// For an index, every shard it names is opened (names must be paths inside
// the index's directory) and every tensor it maps must be in its shard.
// Tensors a shard holds that the index does not map are not part of the
// model, as Hugging Face's loaders treat them.
func OpenModel(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.IsDir() {
		idx := filepath.Join(path, IndexName)
		if _, err := os.Stat(idx); err == nil {
			return openIndex(idx)
		}
		single := filepath.Join(path, SingleName)
		if _, err := os.Stat(single); err == nil {
			return openSingle(single)
		}
		return nil, fmt.Errorf("safetensors: %s: holds neither %s nor %s", path, IndexName, SingleName)
	}
	if strings.HasSuffix(path, ".json") {
		return openIndex(path)
	}
	return openSingle(path)
}

func openSingle(path string) (*Model, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	m := &Model{files: []*File{f}, names: []string{filepath.Base(path)}, where: make(map[string]int, len(f.tensors))}
	for _, t := range f.tensors {
		m.where[t.Name] = 0
	}
	return m, nil
}

// maxIndexSize bounds the index file read into memory. Real ones are a few
// hundred kilobytes.
const maxIndexSize = MaxHeaderSize

func openIndex(path string) (*Model, error) {
	buf, err := readLimited(path, maxIndexSize)
	if err != nil {
		return nil, err
	}
	meta, weightMap, err := decodeIndex(buf)
	if err != nil {
		if fe, ok := err.(*FormatError); ok {
			fe.Path = path
		}
		return nil, err
	}
	if len(weightMap) == 0 {
		return nil, &FormatError{Path: path, Offset: -1, Msg: "index has no weight_map, or an empty one"}
	}

	// Open each shard once, in name order.
	var shards []string
	for _, e := range weightMap {
		if !filepath.IsLocal(filepath.FromSlash(e.shard)) {
			return nil, &FormatError{Path: path, Tensor: e.tensor, Offset: -1,
				Msg: fmt.Sprintf("weight_map names shard %q, which is not a path inside the index's directory", e.shard)}
		}
		shards = append(shards, filepath.Clean(filepath.FromSlash(e.shard)))
	}
	slices.Sort(shards)
	shards = slices.Compact(shards)
	m := &Model{names: shards, meta: meta, where: make(map[string]int, len(weightMap))}
	dir := filepath.Dir(path)
	for _, s := range shards {
		f, err := Open(filepath.Join(dir, s))
		if err != nil {
			m.Close()
			return nil, &shardError{index: path, shard: s, err: err}
		}
		m.files = append(m.files, f)
	}
	for _, e := range weightMap {
		i, _ := slices.BinarySearch(shards, filepath.Clean(filepath.FromSlash(e.shard)))
		if _, ok := m.files[i].Lookup(e.tensor); !ok {
			m.Close()
			return nil, &FormatError{Path: path, Tensor: e.tensor, Offset: -1,
				Msg: fmt.Sprintf("weight_map puts it in shard %q, which does not hold it", shards[i])}
		}
		m.where[e.tensor] = i
	}
	return m, nil
}

// shardError is a shard's error, told as the index's.
type shardError struct {
	index, shard string
	err          error
}

func (e *shardError) Error() string {
	return fmt.Sprintf("safetensors: %s: shard %q: %s", e.index, e.shard, strings.TrimPrefix(e.err.Error(), "safetensors: "))
}

func (e *shardError) Unwrap() error { return e.err }

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if int64(len(buf)) > limit {
		return nil, &FormatError{Path: path, Offset: -1, Msg: fmt.Sprintf("index is over the limit of %d bytes", limit)}
	}
	return buf, nil
}

type weightEntry struct{ tensor, shard string }

// decodeIndex reads {"metadata": {...}, "weight_map": {tensor: shard}}.
// Duplicate tensor names are refused (jsontext does), as they would make
// the shard of a tensor depend on the reader.
func decodeIndex(buf []byte) (map[string]any, []weightEntry, error) {
	h := newHeaderDecoder(buf, 0, "index")
	at := h.pos()
	tok, err := h.read()
	if err != nil {
		return nil, nil, err
	}
	if tok.Kind() != '{' {
		return nil, nil, &FormatError{Offset: at, Msg: "index is not a JSON object"}
	}
	var (
		meta    map[string]any
		entries []weightEntry
	)
	for h.d.PeekKind() != '}' {
		key, err := h.read()
		if err != nil {
			return nil, nil, err
		}
		switch key.String() {
		case "metadata":
			at := h.pos()
			v, err := h.d.ReadValue()
			if err != nil {
				return nil, nil, h.syntax(err)
			}
			if err := json.Unmarshal(v, &meta); err != nil {
				return nil, nil, &FormatError{Offset: at, Msg: "cannot read the index metadata", Err: unwrapJSON(err)}
			}
		case "weight_map":
			at := h.pos()
			tok, err := h.read()
			if err != nil {
				return nil, nil, err
			}
			if tok.Kind() != '{' {
				return nil, nil, &FormatError{Offset: at, Msg: "weight_map is not an object"}
			}
			for h.d.PeekKind() != '}' {
				tok, err := h.read()
				if err != nil {
					return nil, nil, err
				}
				name := tok.String() // before the next read voids tok
				at := h.pos()
				shard, err := h.read()
				if err != nil {
					return nil, nil, err
				}
				if shard.Kind() != '"' {
					return nil, nil, &FormatError{Tensor: name, Offset: at, Msg: "weight_map value is not a file name"}
				}
				entries = append(entries, weightEntry{name, shard.String()})
			}
			if _, err := h.read(); err != nil {
				return nil, nil, err
			}
		default:
			if err := h.d.SkipValue(); err != nil {
				return nil, nil, h.syntax(err)
			}
		}
	}
	if _, err := h.read(); err != nil {
		return nil, nil, err
	}
	return meta, entries, nil
}

// unwrapJSON drops encoding/json's type detail down to its message.
func unwrapJSON(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("found JSON %s", te.Value)
	}
	return err
}

// Close closes every shard.
func (m *Model) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	for _, f := range m.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// Files returns the shards, ordered by name.
func (m *Model) Files() []*File { return slices.Clone(m.files) }

// ShardNames returns the shards' paths relative to the index's directory,
// in the order of Files.
func (m *Model) ShardNames() []string { return slices.Clone(m.names) }

// IndexMetadata returns the index's "metadata" object (for example
// "total_size"), nil for a single-file model.
func (m *Model) IndexMetadata() map[string]any { return maps.Clone(m.meta) }

// Tensors returns the model's tensors: shard by shard in name order, each
// shard's in header order. Begin and End are relative to their shard's data
// section.
func (m *Model) Tensors() []TensorInfo {
	var out []TensorInfo
	for i, f := range m.files {
		for _, t := range f.tensors {
			if j, ok := m.where[t.Name]; ok && j == i {
				out = append(out, t)
			}
		}
	}
	return out
}

// File returns the shard that holds the named tensor.
func (m *Model) File(name string) (*File, bool) {
	i, ok := m.where[name]
	if !ok {
		return nil, false
	}
	return m.files[i], true
}

// Lookup returns the named tensor's description.
func (m *Model) Lookup(name string) (TensorInfo, bool) {
	f, ok := m.File(name)
	if !ok {
		return TensorInfo{}, false
	}
	return f.Lookup(name)
}

// Tensor returns the named tensor's description and bytes, a slice of its
// shard's mapping.
func (m *Model) Tensor(name string) (TensorInfo, []byte, error) {
	f, ok := m.File(name)
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("safetensors: tensor %q: %w", name, ErrNotFound)
	}
	return f.Tensor(name)
}

// Float32s returns the named tensor's elements converted to float32, as
// File.Float32s does.
func (m *Model) Float32s(name string) ([]float32, error) {
	f, ok := m.File(name)
	if !ok {
		return nil, fmt.Errorf("safetensors: tensor %q: %w", name, ErrNotFound)
	}
	return f.Float32s(name)
}
