package sqlapi

import (
	"encoding/json"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// rowEncoder turns rows in the text format into JSON objects: numbers as
// JSON numbers, booleans as booleans, json and jsonb embedded as they are,
// one-dimensional arrays of those as JSON arrays, NULL as null, and every
// other type as its PostgreSQL text form (a string), which is how the
// Supabase query endpoint answers for dates, uuids, bytea and the like.
type rowEncoder struct {
	keys  [][]byte // JSON-encoded column names followed by ':'
	oids  []uint32
	skip  []bool // a later column has the same name: the last one wins
	types *pgtype.Map
}

func newRowEncoder(fields []pgconn.FieldDescription, types *pgtype.Map) *rowEncoder {
	e := &rowEncoder{types: types}
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

// appendRow appends one row as a JSON object to buf.
func (e *rowEncoder) appendRow(buf []byte, values [][]byte) []byte {
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
		buf = append(buf, e.keys[i]...)
		buf = e.appendValue(buf, e.oids[i], v)
	}
	return append(buf, '}')
}

func (e *rowEncoder) appendValue(buf []byte, oid uint32, v []byte) []byte {
	if v == nil {
		return append(buf, "null"...)
	}
	switch oid {
	case pgtype.BoolOID:
		if len(v) == 1 && v[0] == 't' {
			return append(buf, "true"...)
		}
		return append(buf, "false"...)
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID:
		return append(buf, v...)
	case pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID:
		// NaN and ±Infinity have no JSON number form.
		if !isJSONNumber(v) {
			return appendString(buf, v)
		}
		return append(buf, v...)
	case pgtype.JSONOID, pgtype.JSONBOID:
		if json.Valid(v) {
			return append(buf, v...)
		}
		return appendString(buf, v)
	case pgtype.BoolArrayOID, pgtype.Int2ArrayOID, pgtype.Int4ArrayOID, pgtype.Int8ArrayOID,
		pgtype.Float4ArrayOID, pgtype.Float8ArrayOID, pgtype.NumericArrayOID,
		pgtype.TextArrayOID, pgtype.VarcharArrayOID, pgtype.JSONArrayOID, pgtype.JSONBArrayOID:
		if b, ok := e.array(oid, v); ok {
			return append(buf, b...)
		}
	}
	return appendString(buf, v)
}

// array decodes a one-dimensional array; anything else (more dimensions,
// NaN inside) stays text.
func (e *rowEncoder) array(oid uint32, v []byte) ([]byte, bool) {
	t, ok := e.types.TypeForOID(oid)
	if !ok {
		return nil, false
	}
	val, err := t.Codec.DecodeValue(e.types, oid, pgtype.TextFormatCode, v)
	if err != nil {
		return nil, false
	}
	elems, ok := val.([]any)
	if !ok {
		return nil, false
	}
	for i, el := range elems {
		switch x := el.(type) {
		case pgtype.Numeric:
			b, err := x.MarshalJSON()
			if err != nil || !json.Valid(b) {
				return nil, false
			}
			elems[i] = json.RawMessage(b)
		case []any:
			return nil, false
		}
	}
	b, err := json.Marshal(elems)
	return b, err == nil
}

// isJSONNumber rejects forms ParseFloat accepts but JSON does not
// ("Infinity", "NaN", "1.", ".5", "+1").
func isJSONNumber(v []byte) bool {
	var x json.Number
	return json.Unmarshal(v, &x) == nil
}

func appendString(buf []byte, v []byte) []byte {
	b, _ := json.Marshal(string(v))
	return append(buf, b...)
}
