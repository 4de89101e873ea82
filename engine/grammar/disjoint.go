package grammar

import "slices"

// oneOf requires exactly one alternative to match, which a grammar cannot
// check; it is compiled as anyOf, and accepted only when no value can
// match two alternatives. That is decided from the schemas' keywords, a
// sound but partial test that covers the usual cases: alternatives of
// different declared types, different enum or const values, and objects
// told apart by a required property with different const values (tagged
// unions).

// maxOneOf bounds the pairwise check.
const maxOneOf = 256

// overlapping returns two alternatives that may both match some value,
// or -1, -1.
func (c *compiler) overlapping(alts []*jv) (int, int) {
	for i := range alts {
		for j := i + 1; j < len(alts); j++ {
			a, b := c.deref(alts[i]), c.deref(alts[j])
			if a == nil || b == nil || !(excludes(a, b, c) && excludes(b, a, c)) {
				return i, j
			}
		}
	}
	return -1, -1
}

// deref follows a schema made of a $ref (and annotations) to its target;
// nil when it cannot be resolved or is a boolean schema.
func (c *compiler) deref(s *jv) *jv {
	for range 64 {
		if s == nil || s.kind != jObject {
			return nil
		}
		r := s.get("$ref")
		if r == nil || r.kind != jString {
			return s
		}
		s = c.resolve(r.s)
	}
	return nil
}

// resolve looks up a local JSON pointer; nil when it does not resolve.
func (c *compiler) resolve(target string) *jv {
	v, err := resolveRef(c.root, target)
	if err != nil {
		return nil
	}
	return v
}

// declaredTypes returns the "type" keyword's types, nil when absent.
func declaredTypes(s *jv) []string {
	t := s.get("type")
	switch {
	case t == nil:
		return nil
	case t.kind == jString:
		return []string{t.s}
	case t.kind == jArray:
		var out []string
		for _, e := range t.arr {
			out = append(out, e.s)
		}
		return out
	}
	return nil
}

// values returns the enum or const values of a schema, nil when it has
// neither.
func values(s *jv) []*jv {
	if k := s.get("const"); k != nil {
		return []*jv{k}
	}
	if e := s.get("enum"); e != nil && e.kind == jArray {
		return e.arr
	}
	return nil
}

func typesOverlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y || x == "integer" && y == "number" || x == "number" && y == "integer" {
				return true
			}
		}
	}
	return false
}

// excludes reports that no value valid for a is valid for b.
func excludes(a, b *jv, c *compiler) bool {
	ta, tb := declaredTypes(a), declaredTypes(b)
	if ta != nil && tb != nil && !typesOverlap(ta, tb) {
		return true
	}
	if va := values(a); va != nil {
		vb := values(b)
		return !slices.ContainsFunc(va, func(v *jv) bool {
			typeOK := tb == nil || hasType(v, tb)
			valueOK := vb == nil || slices.ContainsFunc(vb, func(w *jv) bool { return jsonEqual(v, w) })
			return typeOK && valueOK
		})
	}
	if vb := values(b); vb != nil && ta != nil {
		return !slices.ContainsFunc(vb, func(w *jv) bool { return hasType(w, ta) })
	}
	// Tagged objects: a's values are objects that carry a required
	// property whose values b's required property of the same name
	// rejects.
	if len(ta) != 1 || ta[0] != "object" {
		return false
	}
	for _, p := range requiredNames(a) {
		if !slices.Contains(requiredNames(b), p) {
			continue
		}
		pa, pb := c.deref(a.get("properties").get(p)), c.deref(b.get("properties").get(p))
		if pa == nil || pb == nil {
			continue
		}
		if va, vb := values(pa), values(pb); va != nil && vb != nil &&
			!slices.ContainsFunc(va, func(v *jv) bool {
				return slices.ContainsFunc(vb, func(w *jv) bool { return jsonEqual(v, w) })
			}) {
			return true
		}
	}
	return false
}

func requiredNames(s *jv) []string {
	var out []string
	if r := s.get("required"); r != nil {
		for _, e := range r.arr {
			if e.kind == jString {
				out = append(out, e.s)
			}
		}
	}
	return out
}
