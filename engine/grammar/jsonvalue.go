package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"unicode/utf8"
)

// jv is a parsed JSON value that keeps object member order (schemas list
// properties in the order the output must follow) and number text.
type jv struct {
	kind jkind
	b    bool
	s    string // string value, or number text
	arr  []*jv
	obj  []member
	idx  map[string]int // member positions, for large objects
}

// idxMin is the member count from which objects keep an index, so that
// lookups in a hostile schema with many keys stay fast.
const idxMin = 16

type member struct {
	key string
	val *jv
}

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

func (k jkind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// maxJSONDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxJSONDepth = 256

// parseJSON parses one JSON document; duplicate object keys are an error.
func parseJSON(data []byte) (*jv, error) { return parseJSONDup(data, false) }

// parseJSONDup parses one JSON document; with allowDup, a repeated object
// key replaces the earlier member's value, as most JSON decoders do.
func parseJSONDup(data []byte, allowDup bool) (*jv, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := readValue(d, 0, allowDup)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func readValue(d *json.Decoder, depth int, allowDup bool) (*jv, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxJSONDepth)
	}
	t, err := d.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := t.(type) {
	case nil:
		return &jv{kind: jNull}, nil
	case bool:
		return &jv{kind: jBool, b: t}, nil
	case json.Number:
		return &jv{kind: jNumber, s: string(t)}, nil
	case string:
		return &jv{kind: jString, s: t}, nil
	case json.Delim:
		switch t {
		case '[':
			v := &jv{kind: jArray}
			for d.More() {
				e, err := readValue(d, depth+1, allowDup)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
			_, err := d.Token()
			return v, err
		case '{':
			v := &jv{kind: jObject}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				e, err := readValue(d, depth+1, allowDup)
				if err != nil {
					return nil, err
				}
				if i := v.index(k); i >= 0 {
					if !allowDup {
						return nil, fmt.Errorf("duplicate key %q", k)
					}
					v.obj[i].val = e
					continue
				}
				v.obj = append(v.obj, member{k, e})
				if len(v.obj) == idxMin {
					v.idx = make(map[string]int)
					for i, m := range v.obj {
						v.idx[m.key] = i
					}
				} else if v.idx != nil {
					v.idx[k] = len(v.obj) - 1
				}
			}
			_, err := d.Token()
			return v, err
		}
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}

// get returns member key of an object, or nil.
func (v *jv) get(key string) *jv {
	if i := v.index(key); i >= 0 {
		return v.obj[i].val
	}
	return nil
}

// index returns the position of member key of an object, or -1.
func (v *jv) index(key string) int {
	if v == nil || v.kind != jObject {
		return -1
	}
	if v.idx != nil {
		if i, ok := v.idx[key]; ok {
			return i
		}
		return -1
	}
	for i := range v.obj {
		if v.obj[i].key == key {
			return i
		}
	}
	return -1
}

// rat returns a number's value.
func (v *jv) rat() (*big.Rat, bool) {
	if v == nil || v.kind != jNumber {
		return nil, false
	}
	return new(big.Rat).SetString(v.s)
}

// isInteger reports a number with an integral value (1.0 is one).
func (v *jv) isInteger() bool {
	r, ok := v.rat()
	return ok && r.IsInt()
}

// appendJSON appends v in compact JSON: strings escaped as the grammar's
// literals expect, members in order, number text as given.
func (v *jv) appendJSON(dst []byte) []byte {
	switch v.kind {
	case jNull:
		return append(dst, "null"...)
	case jBool:
		return strconv.AppendBool(dst, v.b)
	case jNumber:
		return append(dst, v.s...)
	case jString:
		return appendJSONString(dst, v.s)
	case jArray:
		dst = append(dst, '[')
		for i, e := range v.arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.appendJSON(dst)
		}
		return append(dst, ']')
	case jObject:
		dst = append(dst, '{')
		for i, m := range v.obj {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, m.key)
			dst = append(dst, ':')
			dst = m.val.appendJSON(dst)
		}
		return append(dst, '}')
	}
	return dst
}

// appendJSONString quotes s: '"', '\\' and control characters (and DEL)
// escaped, everything else raw UTF-8. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for _, r := range s {
		dst = appendJSONRune(dst, r)
	}
	return append(dst, '"')
}

func appendJSONRune(dst []byte, r rune) []byte {
	switch {
	case r == '"':
		return append(dst, '\\', '"')
	case r == '\\':
		return append(dst, '\\', '\\')
	case r == '\n':
		return append(dst, '\\', 'n')
	case r == '\r':
		return append(dst, '\\', 'r')
	case r == '\t':
		return append(dst, '\\', 't')
	case r == '\b':
		return append(dst, '\\', 'b')
	case r == '\f':
		return append(dst, '\\', 'f')
	case r < 0x20 || r == 0x7f:
		return fmt.Appendf(dst, "\\u%04x", r)
	}
	return utf8.AppendRune(dst, r)
}
