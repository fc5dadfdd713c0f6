package config

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// schemaJSON is the per-field rulebook of config.json. go:embed cannot reach
// the repository root, where editors find config.schema.json, so this is a
// copy, refreshed by `go generate ./config`;
// TestEmbeddedSchemaIsTheRepositoryOne fails when the two differ.
//
//go:generate cp ../config.schema.json config.schema.json
//go:embed config.schema.json
var schemaJSON []byte

// schemaURL names the embedded schema for the compiler; nothing is fetched.
const schemaURL = "mem:///config.schema.json"

type compiledSchema struct {
	schema *jsonschema.Schema
	doc    any // the schema document, to read bounds, enums and x-messages
}

var loadSchema = sync.OnceValues(func() (*compiledSchema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	return &compiledSchema{schema: s, doc: doc}, nil
})

// schemaProblems validates a decoded JSON document (numbers as json.Number)
// against the schema and turns the library's error tree into one Problem per
// failed rule, worded by the schema's x-messages or a generic message.
func schemaProblems(inst any) ([]Problem, error) {
	cs, err := loadSchema()
	if err != nil {
		return nil, err
	}
	err = cs.schema.Validate(inst)
	if err == nil {
		return nil, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	m := &mapper{doc: cs.doc, inst: inst}
	m.walk(ve)
	return m.problems, nil
}

type mapper struct {
	doc, inst any
	problems  []Problem
}

func (m *mapper) add(path, msg string) {
	m.problems = append(m.problems, Problem{Path: path, Message: msg})
}

func (m *mapper) walk(e *jsonschema.ValidationError) {
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf, *kind.OneOf:
		for _, c := range e.Causes {
			m.walk(c)
		}
	case *kind.AnyOf:
		m.anyOf(e)
	case *kind.PropertyNames:
		// The library validates a key as a document of its own, so the
		// causes carry no location: the object is found from the schema
		// pointer, which for config.json only goes through "properties".
		obj := strings.TrimSuffix(fragment(e.SchemaURL), "/propertyNames")
		path := k.Property
		if loc, ok := propertiesLocation(obj); ok {
			path = m.path(append(loc, k.Property))
		}
		for _, c := range e.Causes {
			m.leaf(c, path, k.Property)
		}
	default:
		m.leaf(e, m.path(e.InstanceLocation), m.value(e.InstanceLocation))
	}
}

// anyOf handles the nullable objects ("domain": null or an object): an
// alternative whose only failure is the value's JSON type says nothing
// useful, so the problems come from the alternatives that matched the type.
func (m *mapper) anyOf(e *jsonschema.ValidationError) {
	var want []string
	var kept []*jsonschema.ValidationError
	for _, c := range e.Causes {
		if t := typeMismatchAt(c, len(e.InstanceLocation)); t != nil {
			want = append(want, t.Want...)
			continue
		}
		kept = append(kept, c)
	}
	if len(kept) == 0 {
		v := m.value(e.InstanceLocation)
		m.add(m.path(e.InstanceLocation), fmt.Sprintf("must be %s, got %s", typeNames(want), describeFor(want, v)))
		return
	}
	for _, c := range kept {
		m.walk(c)
	}
}

func typeMismatchAt(e *jsonschema.ValidationError, depth int) *kind.Type {
	for {
		switch k := e.ErrorKind.(type) {
		case *kind.Type:
			if len(e.InstanceLocation) == depth {
				return k
			}
			return nil
		case *kind.Reference, *kind.Schema, *kind.Group:
			if len(e.Causes) != 1 {
				return nil
			}
			e = e.Causes[0]
		default:
			return nil
		}
	}
}

func (m *mapper) leaf(e *jsonschema.ValidationError, path string, v any) {
	node := m.node(fragment(e.SchemaURL))
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		allowed := sortedProps(node)
		for _, p := range k.Properties {
			msg := fmt.Sprintf("unknown key (allowed here: %s)", strings.Join(allowed, ", "))
			if s := suggest(p, allowed); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			m.add(join(path, p), msg)
		}
		return
	case *kind.Required:
		if t, ok := message(node, "required"); ok {
			m.add(path, fill(t, map[string]string{"{missing}": strings.Join(k.Missing, ", ")}))
			return
		}
		props, _ := node["properties"].(map[string]any)
		for _, p := range k.Missing {
			msg := "required key is missing"
			if t, ok := message(m.resolve(props[p]), "required"); ok {
				msg = t
			}
			m.add(join(path, p), msg)
		}
		return
	case *kind.UniqueItems:
		i, j := k.Duplicates[0], k.Duplicates[1]
		arr, _ := v.([]any)
		var dup any
		if j < len(arr) {
			dup = arr[j]
		}
		m.add(fmt.Sprintf("%s[%d]", path, j), fmt.Sprintf("duplicate %s (also %s[%d])", formatValue(dup), path, i))
		return
	case *kind.Type:
		t, ok := message(node, "type")
		if !ok {
			t = fmt.Sprintf("must be %s, got %s", typeNames(k.Want), describeFor(k.Want, v))
		}
		m.add(path, fill(t, values(node, "", v)))
		return
	}
	kw, generic := genericMessage(e.ErrorKind, node)
	t, ok := message(node, kw)
	if !ok {
		t = generic
	}
	m.add(path, fill(t, values(node, kw, v)))
}

// genericMessages word the failed keywords whose message needs no look at
// the schema node, in the style of the rest of the messages: what is
// allowed, then what was found.
var genericMessages = map[reflect.Type][2]string{
	reflect.TypeFor[*kind.MinLength](): {"minLength", "must be at least {min} characters, got {length}"},
	reflect.TypeFor[*kind.MaxLength](): {"maxLength", "must be at most {max} characters, got {length}"},
	reflect.TypeFor[*kind.MinItems]():  {"minItems", "must list at least {min} item(s)"},
	reflect.TypeFor[*kind.MaxItems]():  {"maxItems", "must list at most {max} item(s)"},
	reflect.TypeFor[*kind.Enum]():      {"enum", "must be one of {allowed}, got {value}"},
	reflect.TypeFor[*kind.Const]():     {"const", "must be {const}, got {value}"},
	reflect.TypeFor[*kind.Pattern]():   {"pattern", "{value} does not match {pattern}"},
	reflect.TypeFor[*kind.Not]():       {"not", "{value} is not allowed here"},
	reflect.TypeFor[*kind.Format]():    {"format", "{value} is not a valid {format}"},
}

// genericMessage words a failed keyword that has no x-messages entry.
func genericMessage(k jsonschema.ErrorKind, node map[string]any) (keyword, msg string) {
	switch k.(type) {
	case *kind.Minimum, *kind.Maximum:
		kw := "minimum"
		if _, ok := k.(*kind.Maximum); ok {
			kw = "maximum"
		}
		_, hasMin := node["minimum"]
		_, hasMax := node["maximum"]
		switch {
		case hasMin && hasMax:
			return kw, "must be {min}..{max}, got {value}"
		case hasMin:
			return kw, "must be {min} or more, got {value}"
		default:
			return kw, "must be at most {max}, got {value}"
		}
	}
	if m, ok := genericMessages[reflect.TypeOf(k)]; ok {
		return m[0], m[1]
	}
	kw := strings.Join(k.KeywordPath(), "/")
	return kw, fmt.Sprintf("fails the schema's %q rule", kw)
}

// values are the placeholders a message template may use.
func values(node map[string]any, keyword string, v any) map[string]string {
	out := map[string]string{"{value}": formatValue(v)}
	if s, ok := v.(string); ok {
		out["{length}"] = strconv.Itoa(utf8.RuneCountInString(s))
	}
	bounds := map[string][2]string{
		"minimum": {"minimum", "maximum"}, "maximum": {"minimum", "maximum"},
		"minLength": {"minLength", "maxLength"}, "maxLength": {"minLength", "maxLength"},
		"minItems": {"minItems", "maxItems"}, "maxItems": {"minItems", "maxItems"},
	}
	if b, ok := bounds[keyword]; ok {
		out["{min}"] = plain(node[b[0]])
		out["{max}"] = plain(node[b[1]])
	}
	if enum, ok := node["enum"].([]any); ok {
		s := make([]string, len(enum))
		for i, e := range enum {
			s[i] = plain(e)
		}
		out["{allowed}"] = strings.Join(s, ", ")
	}
	if c, ok := node["const"]; ok {
		out["{const}"] = plain(c)
	}
	out["{pattern}"] = plain(node["pattern"])
	out["{format}"] = plain(node["format"])
	return out
}

func fill(t string, vals map[string]string) string {
	pairs := make([]string, 0, 2*len(vals))
	for k, v := range vals {
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(t)
}

func message(node map[string]any, keyword string) (string, bool) {
	msgs, _ := node["x-messages"].(map[string]any)
	s, ok := msgs[keyword].(string)
	return s, ok
}

// formatValue shows a found value: strings quoted, numbers and booleans bare.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	default:
		return describe(v)
	}
}

// plain shows a value from the schema (bounds, enum members) unquoted.
func plain(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

func typeNames(want []string) string {
	names := map[string]string{
		"integer": "a whole number", "number": "a number", "string": "a string",
		"boolean": "true or false", "object": "an object", "array": "an array", "null": "null",
	}
	out := make([]string, len(want))
	for i, w := range want {
		out[i] = names[w]
		if out[i] == "" {
			out[i] = w
		}
	}
	return strings.Join(out, " or ")
}

// describeFor shows a value of the wrong type; a fraction where a whole
// number belongs is shown bare ("got 512.5"), as it is the only mistake.
func describeFor(want []string, v any) string {
	if n, ok := v.(json.Number); ok {
		for _, w := range want {
			if w == "integer" {
				return n.String()
			}
		}
	}
	return describe(v)
}

// path renders an instance location as config paths are written in
// messages: keys joined by dots, array elements as [i].
func (m *mapper) path(loc []string) string {
	var b strings.Builder
	cur := m.inst
	for _, seg := range loc {
		switch c := cur.(type) {
		case []any:
			fmt.Fprintf(&b, "[%s]", seg)
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(c) {
				cur = c[i]
			} else {
				cur = nil
			}
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(seg)
			obj, _ := c.(map[string]any)
			cur = obj[seg]
		}
	}
	return b.String()
}

func (m *mapper) value(loc []string) any {
	cur := m.inst
	for _, seg := range loc {
		switch c := cur.(type) {
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		case map[string]any:
			cur = c[seg]
		default:
			return nil
		}
	}
	return cur
}

// node finds a schema object by JSON pointer.
func (m *mapper) node(ptr string) map[string]any {
	cur := m.doc
	for _, tok := range pointerTokens(ptr) {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	n, _ := cur.(map[string]any)
	return n
}

// resolve follows a local $ref, as properties of the schema often are one.
func (m *mapper) resolve(v any) map[string]any {
	n, _ := v.(map[string]any)
	for i := 0; i < 8 && n != nil; i++ {
		ref, ok := n["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#") {
			break
		}
		n = m.node(strings.TrimPrefix(ref, "#"))
	}
	return n
}

func fragment(schemaURL string) string {
	_, frag, _ := strings.Cut(schemaURL, "#")
	if u, err := url.PathUnescape(frag); err == nil {
		return u
	}
	return frag
}

func pointerTokens(ptr string) []string {
	if ptr == "" || ptr == "/" {
		return nil
	}
	toks := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, t := range toks {
		toks[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(t)
	}
	return toks
}

// propertiesLocation maps a schema pointer made only of /properties/<key>
// steps to the instance location it validates.
func propertiesLocation(ptr string) ([]string, bool) {
	toks := pointerTokens(ptr)
	if len(toks)%2 != 0 {
		return nil, false
	}
	loc := make([]string, 0, len(toks)/2)
	for i := 0; i < len(toks); i += 2 {
		if toks[i] != "properties" {
			return nil, false
		}
		loc = append(loc, toks[i+1])
	}
	return loc, true
}

func sortedProps(node map[string]any) []string {
	props, _ := node["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// suggest names the allowed key an unknown one was probably meant to be: the
// same but for case, or at most two edits away.
func suggest(key string, allowed []string) string {
	best, bestDist := "", 3
	for _, a := range allowed {
		if strings.EqualFold(a, key) {
			return a
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(a)); d < bestDist && d < len(a)/2 {
			best, bestDist = a, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
