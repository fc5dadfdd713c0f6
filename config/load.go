package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
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
//
// The schema sees the file as written, so unknown keys, wrong types and
// missing keys are reported with their paths (encoding/json would ignore the
// first and report the others without array indices); once every value has
// the right type, the cross-field rules see the decoded config with its
// defaults, and all problems of both are reported together.
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
	problems, err := schemaProblems(raw)
	if err != nil {
		return Config{}, err
	}
	cfg := Default()
	if err := json.Unmarshal(data, &cfg); err != nil {
		// A type the schema rejected is already reported; what is left is
		// a number JSON Schema calls whole but Go cannot hold (512.0, 1e40).
		if len(problems) == 0 {
			problems = append(problems, decodeProblem(err))
		}
		return Config{}, &Error{File: name, Problems: sortProblems(problems)}
	}
	problems = append(problems, cfg.crossFieldProblems(problems)...)
	if len(problems) > 0 {
		return Config{}, &Error{File: name, Problems: sortProblems(problems)}
	}
	return cfg, nil
}

func decodeProblem(err error) Problem {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if n, ok := strings.CutPrefix(te.Value, "number "); ok {
			if strings.ContainsAny(n, ".eE") {
				return Problem{Path: te.Field, Message: fmt.Sprintf("must be a whole number written without a fraction or exponent, got %s", n)}
			}
			return Problem{Path: te.Field, Message: fmt.Sprintf("%s is too large", n)}
		}
		return Problem{Path: te.Field, Message: fmt.Sprintf("cannot be %s", te.Value)}
	}
	return Problem{Message: err.Error()}
}

// sortProblems orders problems by path, array indices numerically, so the
// report reads top to bottom whatever order the rules ran in.
func sortProblems(ps []Problem) []Problem {
	key := func(p string) string {
		var b strings.Builder
		for {
			i := strings.IndexByte(p, '[')
			j := strings.IndexByte(p, ']')
			if i < 0 || j < i {
				b.WriteString(p)
				return b.String()
			}
			b.WriteString(p[:i+1])
			if n, err := strconv.Atoi(p[i+1 : j]); err == nil {
				fmt.Fprintf(&b, "%010d", n)
			} else {
				b.WriteString(p[i+1 : j])
			}
			p = p[j:]
			b.WriteByte(']')
			p = p[1:]
		}
	}
	sort.SliceStable(ps, func(a, b int) bool { return key(ps[a].Path) < key(ps[b].Path) })
	return ps
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
