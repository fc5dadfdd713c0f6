package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
)

// Problem is one thing wrong with a config file, located by its JSON path
// (e.g. "database.workers[1].id").
type Problem struct {
	Path    string
	Message string
}

// Error lists every problem found in one config file, so a user fixes them
// all in one go instead of one per synth.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		if p.Path == "" {
			lines = append(lines, fmt.Sprintf("%s: %s", e.File, p.Message))
			continue
		}
		lines = append(lines, fmt.Sprintf("%s: %s: %s", e.File, p.Path, p.Message))
	}
	return strings.Join(lines, "\n")
}

// Load reads, checks and validates a config file.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data over the defaults and validates the result. name is used
// only in error messages.
func Parse(name string, data []byte) (Config, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Config{}, &Error{File: name, Problems: []Problem{{Message: syntaxMessage(data, err)}}}
	}
	if dec.More() {
		return Config{}, &Error{File: name, Problems: []Problem{{Message: "unexpected content after the top-level JSON object"}}}
	}
	// Shape first: unknown keys and wrong JSON types are reported with their
	// paths here, because encoding/json would ignore the former and report
	// the latter without array indices.
	var problems []Problem
	checkShape(reflect.TypeOf(Config{}), raw, "", &problems)
	if len(problems) > 0 {
		return Config{}, &Error{File: name, Problems: problems}
	}
	cfg := Default()
	if err := json.Unmarshal(data, &cfg); err != nil {
		return Config{}, &Error{File: name, Problems: []Problem{{Message: err.Error()}}}
	}
	if err := cfg.Validate(); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = name
		}
		return Config{}, err
	}
	return cfg, nil
}

func syntaxMessage(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, se.Offset)
		return fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, se)
	}
	if errors.Is(err, io.EOF) {
		return "file is empty: it must hold one JSON object"
	}
	return "invalid JSON: " + err.Error()
}

func position(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// checkShape walks the decoded JSON against the Go type it will be decoded
// into and records unknown keys and type mismatches with their JSON paths.
func checkShape(t reflect.Type, v any, path string, problems *[]Problem) {
	add := func(msg string, args ...any) {
		*problems = append(*problems, Problem{Path: path, Message: fmt.Sprintf(msg, args...)})
	}
	if t.Kind() == reflect.Pointer {
		if v == nil {
			return
		}
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			add("must be an object, got %s", describe(v))
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				*problems = append(*problems, Problem{
					Path:    join(path, k),
					Message: fmt.Sprintf("unknown key (allowed here: %s)", strings.Join(sortedKeys(fields), ", ")),
				})
				continue
			}
			checkShape(ft, obj[k], join(path, k), problems)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			add("must be an object, got %s", describe(v))
			return
		}
		for k, e := range obj {
			checkShape(t.Elem(), e, join(path, k), problems)
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			add("must be an array, got %s", describe(v))
			return
		}
		for i, e := range arr {
			checkShape(t.Elem(), e, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			add("must be a string, got %s", describe(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			add("must be true or false, got %s", describe(v))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			add("must be a whole number, got %s", describe(v))
			return
		}
		if _, err := n.Int64(); err != nil {
			add("must be a whole number, got %s", n)
		}
	default:
		add("unsupported config type %s", t)
	}
}

func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("%t", x)
	case json.Number:
		return "number " + x.String()
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
