package chat

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/ardanlabs/jinja"
)

// The helpers that rewrite.go's output calls, each doing what Jinja2 does
// where the engine does something else. strictHelpers are for rendering;
// probeHelpers for the capability probes, which, like render.py's
// ProbeUndefined, let undefined values through: an attribute of undefined
// is undefined and undefined + x is str(x).
var (
	strictHelpers = newHelpers(false)
	probeHelpers  = newHelpers(true)
)

func newHelpers(lenient bool) map[string]jinja.Value {
	return map[string]jinja.Value{
		helperAdd: jinja.NewCallable(helperAdd, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 2 {
				return jinja.Undefined(), errors.New("+: two operands wanted")
			}
			return pyAdd(args[0], args[1], lenient)
		}),
		helperAddMarkup: jinja.NewCallable(helperAddMarkup, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 4 || !args[2].IsBool() || !args[3].IsBool() {
				return jinja.Undefined(), errors.New("+: two operands and two flags wanted")
			}
			return markupAdd(args[0], args[1], args[2].AsBool(), args[3].AsBool(), lenient)
		}),
		helperDefined: jinja.NewCallable(helperDefined, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) == 0 {
				return jinja.Undefined(), nil
			}
			if args[0].IsUndefined() && !lenient {
				if len(args) > 1 && args[1].IsString() {
					return args[0], fmt.Errorf("UndefinedError: '%s' is undefined", args[1].AsString())
				}
				return args[0], errors.New("UndefinedError: attribute or item of an undefined value")
			}
			return args[0], nil
		}),
		helperIsIterable: jinja.NewCallable(helperIsIterable, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			// Jinja2's iterable and sequence tests agree on every value the
			// engine has: str, list, tuple, dict and Undefined pass.
			if len(args) == 0 {
				return jinja.NewBool(false), nil
			}
			v := args[0]
			return jinja.NewBool(v.IsString() || v.IsList() || v.IsDict() || v.IsUndefined()), nil
		}),
		helperIterator: jinja.NewCallable(helperIterator, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			// The filter before the consumer made a generator in Jinja2,
			// except reverse of a string, which is a string.
			if len(args) == 0 || args[0].IsString() {
				if len(args) == 0 {
					return jinja.Undefined(), nil
				}
				return args[0], nil
			}
			consumer := ""
			if len(args) > 1 && args[1].IsString() {
				consumer = args[1].AsString()
			}
			switch consumer {
			case "tojson":
				return args[0], errors.New("TypeError: Object of type generator is not JSON serializable")
			case "last":
				return args[0], errors.New("TypeError: 'generator' object is not reversible")
			default:
				return args[0], errors.New("TypeError: object of type 'generator' has no len()")
			}
		}),
		helperFor: jinja.NewCallable(helperFor, func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 {
				return jinja.Undefined(), errors.New("for: one iterable wanted")
			}
			v := args[0]
			if v.IsNone() || v.IsBool() || v.IsInt() || v.IsFloat() || v.IsCallable() {
				return v, fmt.Errorf("TypeError: '%s' object is not iterable", pyType(v))
			}
			return v, nil
		}),
	}
}

// pyType is the Python type name of a value, for error messages.
func pyType(v jinja.Value) string {
	switch {
	case v.IsUndefined():
		return "Undefined"
	case v.IsNone():
		return "NoneType"
	case v.IsBool():
		return "bool"
	case v.IsInt():
		return "int"
	case v.IsFloat():
		return "float"
	case v.IsString():
		return "str"
	case v.IsList():
		return "list"
	case v.IsDict():
		return "dict"
	}
	return "function"
}

// pyStr is Python's str() of a value; Undefined's is empty.
func pyStr(v jinja.Value) string {
	switch {
	case v.IsUndefined():
		return ""
	case v.IsString():
		return v.AsString()
	}
	return v.String() // Python's repr, which is str for the other types
}

var errUndefinedOperand = errors.New("UndefinedError: an operand of + is undefined")

// pyAdd is Python's a + b for the values a template has. lenient is
// render.py's ProbeUndefined: undefined + x and x + undefined are str(x).
func pyAdd(a, b jinja.Value, lenient bool) (jinja.Value, error) {
	if a.IsUndefined() || b.IsUndefined() {
		if !lenient {
			return jinja.Undefined(), errUndefinedOperand
		}
		if a.IsUndefined() {
			return jinja.NewString(pyStr(b)), nil
		}
		return jinja.NewString(pyStr(a)), nil
	}
	isNum := func(v jinja.Value) bool { return v.IsInt() || v.IsFloat() || v.IsBool() }
	switch {
	case a.IsString() && b.IsString():
		return jinja.NewString(a.AsString() + b.AsString()), nil
	case a.IsList() && b.IsList():
		x, y := a.AsList().Items, b.AsList().Items
		items := make([]jinja.Value, 0, len(x)+len(y))
		return jinja.NewList(append(append(items, x...), y...)), nil
	case isNum(a) && isNum(b):
		if a.IsFloat() || b.IsFloat() {
			return jinja.NewFloat(toFloat(a) + toFloat(b)), nil
		}
		x, y := toInt(a), toInt(b)
		if (y > 0 && x > math.MaxInt64-y) || (y < 0 && x < math.MinInt64-y) {
			// Python's ints are unbounded; the engine's are int64.
			return jinja.Undefined(), fmt.Errorf("OverflowError: %d + %d does not fit in 64 bits", x, y)
		}
		return jinja.NewInt(x + y), nil
	case a.IsString():
		return jinja.Undefined(), fmt.Errorf("TypeError: can only concatenate str (not %q) to str", pyType(b))
	case a.IsList():
		return jinja.Undefined(), fmt.Errorf("TypeError: can only concatenate list (not %q) to list", pyType(b))
	}
	return jinja.Undefined(), fmt.Errorf("TypeError: unsupported operand type(s) for +: '%s' and '%s'", pyType(a), pyType(b))
}

func toInt(v jinja.Value) int64 {
	if v.IsBool() {
		if v.AsBool() {
			return 1
		}
		return 0
	}
	return v.AsInt()
}

func toFloat(v jinja.Value) float64 {
	if v.IsFloat() {
		return v.AsFloat()
	}
	return float64(toInt(v))
}

// markupAdd is a + b where a (lm) or b (rm) is a markupsafe.Markup: the
// other side must be a string, and unless it is Markup too it is
// HTML-escaped (Markup.__add__, Markup.__radd__). The sum is Markup.
func markupAdd(a, b jinja.Value, lm, rm, lenient bool) (jinja.Value, error) {
	side := func(v jinja.Value, markup bool) (string, error) {
		switch {
		case markup:
			return pyStr(v), nil // Markup(x) is str(x)
		case v.IsString():
			return htmlEscape(v.AsString()), nil
		case v.IsUndefined():
			if lenient {
				return "", nil
			}
			return "", errUndefinedOperand
		}
		typ := [2]string{"Markup", pyType(v)}
		if rm {
			typ[0], typ[1] = typ[1], typ[0]
		}
		return "", fmt.Errorf("TypeError: unsupported operand type(s) for +: '%s' and '%s'", typ[0], typ[1])
	}
	x, err := side(a, lm)
	if err != nil {
		return jinja.Undefined(), err
	}
	y, err := side(b, rm)
	if err != nil {
		return jinja.Undefined(), err
	}
	return jinja.NewString(x + y), nil
}

// htmlEscape is markupsafe.escape of a str.
var htmlEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace
