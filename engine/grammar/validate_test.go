package grammar

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// validate is a small JSON Schema (2020-12) validator for the keywords the
// compiler supports, written from the specification independently of the
// compiler, used to check generated output. It also checks that declared
// properties appear in schema order (the compiler's promise).
func validate(root, s, v *jv, path string) error {
	return (&validator{root: root}).check(s, v, path)
}

type validator struct {
	root  *jv
	depth int
}

func (vd *validator) check(s, v *jv, path string) error {
	vd.depth++
	defer func() { vd.depth-- }()
	if vd.depth > 200 {
		return fmt.Errorf("%s: validation too deep", path)
	}
	if s.kind == jBool {
		if !s.b {
			return fmt.Errorf("%s: schema false", path)
		}
		return nil
	}
	if r := s.get("$ref"); r != nil {
		target, err := resolvePointer(vd.root, r.s)
		if err != nil {
			return err
		}
		if err := vd.check(target, v, path); err != nil {
			return err
		}
	}
	if l := s.get("anyOf"); l != nil {
		ok := false
		for _, sub := range l.arr {
			if vd.check(sub, v, path) == nil {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%s: no anyOf alternative matches %s", path, v.appendJSON(nil))
		}
	}
	if l := s.get("oneOf"); l != nil {
		n := 0
		for _, sub := range l.arr {
			if vd.check(sub, v, path) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: %d oneOf alternatives match", path, n)
		}
	}
	if l := s.get("allOf"); l != nil {
		for _, sub := range l.arr {
			if err := vd.check(sub, v, path); err != nil {
				return err
			}
		}
	}
	if e := s.get("enum"); e != nil {
		ok := false
		for _, x := range e.arr {
			ok = ok || jsonEqual(x, v)
		}
		if !ok {
			return fmt.Errorf("%s: %s not in enum", path, v.appendJSON(nil))
		}
	}
	if k := s.get("const"); k != nil && !jsonEqual(k, v) {
		return fmt.Errorf("%s: %s is not the const", path, v.appendJSON(nil))
	}
	if t := s.get("type"); t != nil {
		var names []string
		if t.kind == jString {
			names = []string{t.s}
		}
		for _, x := range t.arr {
			names = append(names, x.s)
		}
		ok := false
		for _, n := range names {
			ok = ok || n == v.kind.String() || (n == "integer" && v.kind == jNumber && v.isInteger())
		}
		if !ok {
			return fmt.Errorf("%s: %s is not of type %v", path, v.appendJSON(nil), names)
		}
	}
	switch v.kind {
	case jString:
		return vd.checkString(s, v, path)
	case jNumber:
		return vd.checkNumber(s, v, path)
	case jArray:
		return vd.checkArray(s, v, path)
	case jObject:
		return vd.checkObject(s, v, path)
	}
	return nil
}

func resolvePointer(root *jv, ref string) (*jv, error) {
	if !strings.HasPrefix(ref, "#") {
		return nil, fmt.Errorf("ref %q not local", ref)
	}
	v := root
	if ref == "#" {
		return v, nil
	}
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if v.kind == jArray {
			i, _ := strconv.Atoi(tok)
			v = v.arr[i]
		} else {
			v = v.get(tok)
		}
		if v == nil {
			return nil, fmt.Errorf("ref %q does not resolve", ref)
		}
	}
	return v, nil
}

func num(v *jv) float64 {
	f, _ := strconv.ParseFloat(v.s, 64)
	return f
}

func (vd *validator) checkString(s, v *jv, path string) error {
	n := utf8.RuneCountInString(v.s)
	if m := s.get("minLength"); m != nil && float64(n) < num(m) {
		return fmt.Errorf("%s: %q shorter than %s", path, v.s, m.s)
	}
	if m := s.get("maxLength"); m != nil && float64(n) > num(m) {
		return fmt.Errorf("%s: %q longer than %s", path, v.s, m.s)
	}
	if p := s.get("pattern"); p != nil {
		re, err := regexp.Compile(p.s)
		if err != nil {
			return err
		}
		if !re.MatchString(v.s) {
			return fmt.Errorf("%s: %q does not match %q", path, v.s, p.s)
		}
	}
	if f := s.get("format"); f != nil {
		var err error
		switch f.s {
		case "date":
			_, err = time.Parse("2006-01-02", v.s)
		case "time":
			_, err = time.Parse("15:04:05Z07:00", v.s)
		case "date-time":
			_, err = time.Parse(time.RFC3339Nano, v.s)
		case "uuid":
			if !regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`).MatchString(v.s) {
				err = fmt.Errorf("not a uuid")
			}
		case "ipv4":
			if ip := net.ParseIP(v.s); ip == nil || ip.To4() == nil || strings.Count(v.s, ".") != 3 {
				err = fmt.Errorf("not an ipv4 address")
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %q is not a %s: %v", path, v.s, f.s, err)
		}
	}
	return nil
}

func (vd *validator) checkNumber(s, v *jv, path string) error {
	x, ok := v.rat()
	if !ok {
		return fmt.Errorf("%s: bad number %s", path, v.s)
	}
	for _, b := range []struct {
		key string
		bad func(c int) bool
	}{
		{"minimum", func(c int) bool { return c < 0 }},
		{"exclusiveMinimum", func(c int) bool { return c <= 0 }},
		{"maximum", func(c int) bool { return c > 0 }},
		{"exclusiveMaximum", func(c int) bool { return c >= 0 }},
	} {
		if k := s.get(b.key); k != nil {
			y, _ := k.rat()
			if b.bad(x.Cmp(y)) {
				return fmt.Errorf("%s: %s violates %s %s", path, v.s, b.key, k.s)
			}
		}
	}
	return nil
}

func (vd *validator) checkArray(s, v *jv, path string) error {
	n := float64(len(v.arr))
	if m := s.get("minItems"); m != nil && n < num(m) {
		return fmt.Errorf("%s: %d items, minItems %s", path, len(v.arr), m.s)
	}
	if m := s.get("maxItems"); m != nil && n > num(m) {
		return fmt.Errorf("%s: %d items, maxItems %s", path, len(v.arr), m.s)
	}
	var prefix []*jv
	rest := s.get("items")
	if rest != nil && rest.kind == jArray {
		prefix, rest = rest.arr, s.get("additionalItems")
	} else if p := s.get("prefixItems"); p != nil {
		prefix = p.arr
	}
	for i, e := range v.arr {
		sub := rest
		if i < len(prefix) {
			sub = prefix[i]
		}
		if sub == nil {
			continue
		}
		if err := vd.check(sub, e, fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (vd *validator) checkObject(s, v *jv, path string) error {
	props := s.get("properties")
	if r := s.get("required"); r != nil {
		for _, k := range r.arr {
			if v.get(k.s) == nil {
				return fmt.Errorf("%s: required %q missing", path, k.s)
			}
		}
	}
	addl := s.get("additionalProperties")
	last := -1
	for _, m := range v.obj {
		sub := props.get(m.key)
		if sub != nil {
			pos := props.index(m.key)
			if pos < last {
				return fmt.Errorf("%s: property %q out of schema order", path, m.key)
			}
			last = pos
		} else {
			sub = addl
		}
		if sub == nil {
			continue
		}
		if err := vd.check(sub, m.val, path+"/"+m.key); err != nil {
			return err
		}
	}
	return nil
}
