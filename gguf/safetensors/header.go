package safetensors

import (
	"bytes"
	"encoding/json/jsontext"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// headerDecoder reads the JSON header token by token, with jsontext rather
// than encoding/json into a map: it keeps the header's key order, and it
// rejects duplicate keys (which the format forbids, and which would let two
// readers see different tensors) and invalid UTF-8. A jsontext.Token is
// valid only until the decoder's next call, so its text is taken at once.
type headerDecoder struct {
	d    *jsontext.Decoder
	buf  []byte
	base int64  // file offset of buf
	what string // "header" or "index", for messages
}

func newHeaderDecoder(buf []byte, base int64, what string) *headerDecoder {
	return &headerDecoder{d: jsontext.NewDecoder(bytes.NewReader(buf)), buf: buf, base: base, what: what}
}

func decodeHeader(buf []byte) ([]TensorInfo, map[string]string, error) {
	h := newHeaderDecoder(buf, 8, "header")
	if _, err := h.read(); err != nil { // '{', checked by the caller
		return nil, nil, err
	}
	var (
		tensors []TensorInfo
		meta    map[string]string
	)
	for h.d.PeekKind() != '}' {
		tok, err := h.read() // an object name, or the error PeekKind saw
		if err != nil {
			return nil, nil, err
		}
		if name := tok.String(); name == metadataKey {
			if meta, err = h.metadata(); err != nil {
				return nil, nil, err
			}
		} else {
			t, err := h.tensor(name)
			if err != nil {
				return nil, nil, err
			}
			tensors = append(tensors, t)
		}
	}
	if _, err := h.read(); err != nil { // '}'
		return nil, nil, err
	}
	// Only whitespace may follow: writers pad the header with spaces.
	at := h.pos()
	switch _, err := h.d.ReadToken(); {
	case err == nil:
		return nil, nil, &FormatError{Offset: at, Msg: "header has data after its JSON object"}
	case err != io.EOF:
		return nil, nil, h.syntax(err)
	}
	return tensors, meta, nil
}

// pos returns the file offset of the next token, for error messages.
func (h *headerDecoder) pos() int64 {
	i := h.d.InputOffset()
	for i < int64(len(h.buf)) && strings.IndexByte(" \t\r\n:,", h.buf[i]) >= 0 {
		i++
	}
	return h.base + i
}

func (h *headerDecoder) read() (jsontext.Token, error) {
	tok, err := h.d.ReadToken()
	if err != nil {
		return tok, h.syntax(err)
	}
	return tok, nil
}

func (h *headerDecoder) syntax(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{Offset: h.base + int64(len(h.buf)), Msg: h.what + " JSON ends early"}
	}
	fe := &FormatError{Offset: -1, Msg: "invalid " + h.what + " JSON", Err: err}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		fe.Offset = h.base + se.ByteOffset
		fe.Err = se.Err
		if se.JSONPointer != "" {
			fe.Msg += " at " + strconv.Quote(string(se.JSONPointer))
		}
	}
	return fe
}

// metadata reads the "__metadata__" value: an object of strings, or null.
func (h *headerDecoder) metadata() (map[string]string, error) {
	at := h.pos()
	tok, err := h.read()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case 'n':
		return nil, nil
	case '{':
	default:
		return nil, &FormatError{Offset: at, Msg: metadataKey + " is not an object"}
	}
	meta := map[string]string{}
	for h.d.PeekKind() != '}' {
		k, err := h.read()
		if err != nil {
			return nil, err
		}
		key := k.String() // before the next read voids k
		at := h.pos()
		v, err := h.read()
		if err != nil {
			return nil, err
		}
		if v.Kind() != '"' {
			return nil, &FormatError{Offset: at, Msg: fmt.Sprintf("%s value of %q is not a string", metadataKey, key)}
		}
		meta[key] = v.String()
	}
	if _, err := h.read(); err != nil {
		return nil, err
	}
	return meta, nil
}

// tensor reads one tensor's entry: {"dtype": .., "shape": [..],
// "data_offsets": [begin, end]}. Other keys are skipped, as the reference
// implementation skips them.
func (h *headerDecoder) tensor(name string) (TensorInfo, error) {
	t := TensorInfo{Name: name}
	err := h.tensorFields(&t)
	if fe, ok := err.(*FormatError); ok && fe.Tensor == "" {
		fe.Tensor = name
	}
	return t, err
}

func (h *headerDecoder) tensorFields(t *TensorInfo) error {
	at := h.pos()
	tok, err := h.read()
	if err != nil {
		return err
	}
	if tok.Kind() != '{' {
		return &FormatError{Offset: at, Msg: "entry is not a JSON object"}
	}
	var hasDType, hasShape, hasOffsets bool
	for h.d.PeekKind() != '}' {
		key, err := h.read()
		if err != nil {
			return err
		}
		switch key.String() {
		case "dtype":
			at := h.pos()
			v, err := h.read()
			if err != nil {
				return err
			}
			if v.Kind() != '"' {
				return &FormatError{Offset: at, Msg: "dtype is not a string"}
			}
			d, ok := ParseDType(v.String())
			if !ok {
				return &FormatError{Offset: at, Msg: fmt.Sprintf("unknown dtype %q", v.String())}
			}
			t.DType, hasDType = d, true
		case "shape":
			if t.Shape, err = h.ints("shape", maxRank); err != nil {
				return err
			}
			if t.Shape == nil {
				t.Shape = []int64{} // a scalar
			}
			hasShape = true
		case "data_offsets":
			at := h.pos()
			offs, err := h.ints("data_offsets", 2)
			if err != nil {
				return err
			}
			if len(offs) != 2 {
				return &FormatError{Offset: at, Msg: "data_offsets is not [begin, end]"}
			}
			t.Begin, t.End, hasOffsets = offs[0], offs[1], true
		default:
			if err := h.d.SkipValue(); err != nil {
				return h.syntax(err)
			}
		}
	}
	if _, err := h.read(); err != nil {
		return err
	}
	switch {
	case !hasDType:
		return &FormatError{Offset: at, Msg: "entry has no dtype"}
	case !hasShape:
		return &FormatError{Offset: at, Msg: "entry has no shape"}
	case !hasOffsets:
		return &FormatError{Offset: at, Msg: "entry has no data_offsets"}
	}
	return nil
}

// ints reads an array of at most max non-negative integers, each at most
// math.MaxInt64.
func (h *headerDecoder) ints(field string, max int) ([]int64, error) {
	at := h.pos()
	tok, err := h.read()
	if err != nil {
		return nil, err
	}
	if tok.Kind() != '[' {
		return nil, &FormatError{Offset: at, Msg: field + " is not an array"}
	}
	var out []int64
	for h.d.PeekKind() != ']' {
		at := h.pos()
		v, err := h.read()
		if err != nil {
			return nil, err
		}
		if len(out) == max {
			return nil, &FormatError{Offset: at, Msg: fmt.Sprintf("%s has more than %d entries", field, max)}
		}
		if v.Kind() != '0' {
			return nil, &FormatError{Offset: at, Msg: field + " holds a value that is not a number"}
		}
		n, problem := parseUint63(v.String())
		if problem != "" {
			return nil, &FormatError{Offset: at, Msg: fmt.Sprintf("%s holds %s, %s", field, v.String(), problem)}
		}
		out = append(out, n)
	}
	if _, err := h.read(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseUint63 parses a JSON number that must be an integer in
// [0, math.MaxInt64]; problem says why not.
func parseUint63(s string) (n int64, problem string) {
	if s == "-0" {
		return 0, ""
	}
	u, err := strconv.ParseUint(s, 10, 63)
	switch {
	case err == nil:
		return int64(u), ""
	case strings.HasPrefix(s, "-"):
		return 0, "a negative number"
	case strings.ContainsAny(s, ".eE"):
		return 0, "not an integer"
	default:
		return 0, "too large"
	}
}
