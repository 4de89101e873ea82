package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ardanlabs/jinja"
)

// maxJSONDepth bounds the nesting of request JSON. Python's json module stops
// near its recursion limit (about 1000); a bound also keeps a hostile request
// from driving the recursive decoder and the template's own recursion deep.
const maxJSONDepth = 512

// decodeJSON converts one JSON value to a template value. Objects become
// jinja dicts whose keys keep the document's order, as Python's json.loads
// keeps them, so that dict iteration and tojson in a template see the same
// order as Hugging Face's renderer. Nothing passes through a Go map.
func decodeJSON(data []byte) (jinja.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return jinja.Undefined(), err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("trailing data after JSON value")
		}
		return jinja.Undefined(), err
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (jinja.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return jinja.Undefined(), err
	}
	switch tok := tok.(type) {
	case nil:
		return jinja.None(), nil
	case bool:
		return jinja.NewBool(tok), nil
	case string:
		return jinja.NewString(tok), nil
	case json.Number:
		return numberValue(string(tok)), nil
	case json.Delim:
		if depth >= maxJSONDepth {
			return jinja.Undefined(), fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
		}
		switch tok {
		case '{':
			d := jinja.NewDict()
			dict := d.AsDict()
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return jinja.Undefined(), err
				}
				k, ok := key.(string)
				if !ok {
					return jinja.Undefined(), fmt.Errorf("object key %v is not a string", key)
				}
				val, err := decodeValue(dec, depth+1)
				if err != nil {
					return jinja.Undefined(), err
				}
				// A repeated key keeps its first position and takes the last
				// value, as a Python dict built by json.loads does.
				dict.Set(k, val)
			}
			if _, err := dec.Token(); err != nil {
				return jinja.Undefined(), err
			}
			return d, nil
		case '[':
			var items []jinja.Value
			for dec.More() {
				val, err := decodeValue(dec, depth+1)
				if err != nil {
					return jinja.Undefined(), err
				}
				items = append(items, val)
			}
			if _, err := dec.Token(); err != nil {
				return jinja.Undefined(), err
			}
			return jinja.NewList(items), nil
		}
	}
	return jinja.Undefined(), fmt.Errorf("unexpected JSON token %v", tok)
}

// numberValue follows json.loads: a literal without fraction or exponent is
// an int, anything else a float (1e400 becomes inf, as in Python). Python
// ints are unbounded; an integer beyond int64 falls back to a float here,
// which tojson then prints differently from Python (a documented limit).
func numberValue(s string) jinja.Value {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return jinja.NewInt(n)
		}
	}
	f, _ := strconv.ParseFloat(s, 64) // json.Decoder already checked the syntax; ErrRange gives ±Inf or 0.
	return jinja.NewFloat(f)
}

// toJSONTemplate reuses the engine's tojson filter, which is written to match
// Python's json.dumps, so that arguments serialized by owl read exactly like
// arguments a template serializes itself.
var toJSONTemplate = func() *jinja.Template {
	t, err := jinja.Compile("{{ v | tojson }}")
	if err != nil {
		panic(err)
	}
	return t
}()

// encodeJSON returns json.dumps(v, ensure_ascii=False) of a template value.
func encodeJSON(v jinja.Value) (string, error) {
	return toJSONTemplate.RenderValues(map[string]jinja.Value{"v": v})
}
