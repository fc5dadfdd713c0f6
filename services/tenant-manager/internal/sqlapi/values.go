package sqlapi

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// rowEncoder turns rows in the text format into JSON objects: numbers as
// JSON numbers, booleans as booleans, json and jsonb embedded as they are,
// one-dimensional arrays of those as JSON arrays, NULL as null, and every
// other type as its PostgreSQL text form (a string), which is how the
// Supabase query endpoint answers for dates, uuids, bytea and the like.
//
// Every encoder works against a byte budget and stops as soon as the JSON
// would pass it: a value is never decoded into Go values first, so the
// memory a row takes is its wire message plus at most the budget.
type rowEncoder struct {
	keys    [][]byte // JSON-encoded column names followed by ':'
	oids    []uint32
	skip    []bool // a later column has the same name: the last one wins
	scratch []byte // one unescaped array element
}

func newRowEncoder(fields []pgconn.FieldDescription) *rowEncoder {
	e := &rowEncoder{}
	last := map[string]int{}
	for i, f := range fields {
		last[f.Name] = i
	}
	for i, f := range fields {
		k, _ := json.Marshal(f.Name)
		e.keys = append(e.keys, append(k, ':'))
		e.oids = append(e.oids, f.DataTypeOID)
		e.skip = append(e.skip, last[f.Name] != i)
	}
	return e
}

// appendRow appends one row as a JSON object to buf; false when the
// object would make buf longer than limit (buf is then unusable).
func (e *rowEncoder) appendRow(buf []byte, values [][]byte, limit int) ([]byte, bool) {
	buf = append(buf, '{')
	first := true
	for i, v := range values {
		if i >= len(e.keys) || e.skip[i] {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		if len(buf)+len(e.keys[i]) > limit {
			return buf, false
		}
		buf = append(buf, e.keys[i]...)
		var ok bool
		if buf, ok = e.appendValue(buf, e.oids[i], v, limit); !ok {
			return buf, false
		}
	}
	buf = append(buf, '}')
	return buf, len(buf) <= limit
}

// elemKind is how an array's elements are written.
type elemKind int

const (
	elemBool elemKind = iota
	elemInt
	elemFloat
	elemText
	elemJSON
)

var arrayKinds = map[uint32]elemKind{
	pgtype.BoolArrayOID: elemBool, pgtype.Int2ArrayOID: elemInt, pgtype.Int4ArrayOID: elemInt, pgtype.Int8ArrayOID: elemInt,
	pgtype.Float4ArrayOID: elemFloat, pgtype.Float8ArrayOID: elemFloat, pgtype.NumericArrayOID: elemFloat,
	pgtype.TextArrayOID: elemText, pgtype.VarcharArrayOID: elemText, pgtype.JSONArrayOID: elemJSON, pgtype.JSONBArrayOID: elemJSON,
}

func (e *rowEncoder) appendValue(buf []byte, oid uint32, v []byte, limit int) ([]byte, bool) {
	if v == nil {
		buf = append(buf, "null"...)
		return buf, len(buf) <= limit
	}
	raw := func() ([]byte, bool) {
		if len(buf)+len(v) > limit {
			return buf, false
		}
		return append(buf, v...), true
	}
	switch oid {
	case pgtype.BoolOID:
		if len(v) == 1 && v[0] == 't' {
			buf = append(buf, "true"...)
		} else {
			buf = append(buf, "false"...)
		}
		return buf, len(buf) <= limit
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID:
		return raw()
	case pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID:
		// NaN and ±Infinity have no JSON number form.
		if isJSONNumber(v) {
			return raw()
		}
	case pgtype.JSONOID, pgtype.JSONBOID:
		if json.Valid(v) {
			return raw()
		}
	default:
		if kind, ok := arrayKinds[oid]; ok {
			start := len(buf)
			out, res := e.appendArray(buf, kind, v, limit)
			switch res {
			case arrayDone:
				return out, true
			case arrayTooLarge:
				return out, false
			}
			buf = out[:start]
		}
	}
	return appendString(buf, v, limit)
}

type arrayResult int

const (
	arrayDone arrayResult = iota
	arrayTooLarge
	// arrayAsText: not a one-dimensional array with default bounds, or
	// an element has no JSON form of its kind (NaN): the text form it is.
	arrayAsText
)

// appendArray writes a one-dimensional array in PostgreSQL's text output
// form ({a,"b c",NULL}) as a JSON array, element by element.
func (e *rowEncoder) appendArray(buf []byte, kind elemKind, v []byte, limit int) ([]byte, arrayResult) {
	n := len(v)
	if n < 2 || v[0] != '{' || v[n-1] != '}' {
		return buf, arrayAsText
	}
	buf = append(buf, '[')
	i := 1
	first := true
	for i < n-1 {
		for i < n-1 && isArraySpace(v[i]) {
			i++
		}
		if i >= n-1 {
			break
		}
		quoted := false
		e.scratch = e.scratch[:0]
		switch v[i] {
		case '{':
			return buf, arrayAsText
		case '"':
			quoted = true
			i++
			for i < n-1 && v[i] != '"' {
				if v[i] == '\\' && i+1 < n-1 {
					i++
				}
				e.scratch = append(e.scratch, v[i])
				i++
			}
			if i >= n-1 {
				return buf, arrayAsText
			}
			i++ // closing quote
			for i < n-1 && isArraySpace(v[i]) {
				i++
			}
		default:
			j := i
			for j < n-1 && v[j] != ',' {
				j++
			}
			k := j
			for k > i && isArraySpace(v[k-1]) {
				k--
			}
			e.scratch = append(e.scratch, v[i:k]...)
			i = j
		}
		if i < n-1 {
			if v[i] != ',' {
				return buf, arrayAsText
			}
			i++
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		el := e.scratch
		var ok bool
		switch {
		case !quoted && len(el) == 4 && (string(el) == "NULL" || string(el) == "null" || string(el) == "Null"):
			buf = append(buf, "null"...)
		case kind == elemBool:
			if len(el) == 1 && el[0] == 't' {
				buf = append(buf, "true"...)
			} else {
				buf = append(buf, "false"...)
			}
		case kind == elemInt || kind == elemFloat:
			if !isJSONNumber(el) {
				return buf, arrayAsText
			}
			buf = append(buf, el...)
		case kind == elemJSON:
			if !json.Valid(el) {
				return buf, arrayAsText
			}
			buf = append(buf, el...)
		default:
			if buf, ok = appendString(buf, el, limit); !ok {
				return buf, arrayTooLarge
			}
		}
		if len(buf) > limit {
			return buf, arrayTooLarge
		}
	}
	buf = append(buf, ']')
	if len(buf) > limit {
		return buf, arrayTooLarge
	}
	return buf, arrayDone
}

func isArraySpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// isJSONNumber rejects forms ParseFloat accepts but JSON does not
// ("Infinity", "NaN", "1.", ".5", "+1").
func isJSONNumber(v []byte) bool {
	i, n := 0, len(v)
	if i < n && v[i] == '-' {
		i++
	}
	if i >= n {
		return false
	}
	if v[i] == '0' {
		i++
	} else if v[i] >= '1' && v[i] <= '9' {
		for i < n && v[i] >= '0' && v[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < n && v[i] == '.' {
		i++
		d := i
		for i < n && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < n && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < n && (v[i] == '+' || v[i] == '-') {
			i++
		}
		d := i
		for i < n && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == n
}

const hexDigits = "0123456789abcdef"

// appendString writes v as a JSON string, stopping once buf would pass
// limit. Escaping grows a byte to at most six, so the check runs as it
// goes rather than after; invalid UTF-8 becomes U+FFFD, as encoding/json
// does.
func appendString(buf []byte, v []byte, limit int) ([]byte, bool) {
	if len(buf)+len(v)+2 > limit {
		return buf, false
	}
	buf = append(buf, '"')
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
			i++
		case c == '\n':
			buf = append(buf, '\\', 'n')
			i++
		case c == '\r':
			buf = append(buf, '\\', 'r')
			i++
		case c == '\t':
			buf = append(buf, '\\', 't')
			i++
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			i++
		default:
			r, size := utf8.DecodeRune(v[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				buf = append(buf, `\ufffd`...)
			case r == '\u2028' || r == '\u2029':
				buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			default:
				buf = append(buf, v[i:i+size]...)
			}
			i += size
		}
		if len(buf) >= limit {
			return buf, false
		}
	}
	buf = append(buf, '"')
	return buf, len(buf) <= limit
}
