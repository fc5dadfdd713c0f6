package sqlapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

func TestRowEncoder(t *testing.T) {
	fields := []pgconn.FieldDescription{
		{Name: "i", DataTypeOID: pgtype.Int8OID}, {Name: "n", DataTypeOID: pgtype.NumericOID},
		{Name: "nan", DataTypeOID: pgtype.Float8OID}, {Name: "b", DataTypeOID: pgtype.BoolOID},
		{Name: "j", DataTypeOID: pgtype.JSONBOID}, {Name: "t", DataTypeOID: pgtype.TextOID},
		{Name: "arr", DataTypeOID: pgtype.Int4ArrayOID}, {Name: "tarr", DataTypeOID: pgtype.TextArrayOID},
		{Name: "bytes", DataTypeOID: pgtype.ByteaOID}, {Name: "null", DataTypeOID: pgtype.TextOID},
		{Name: "dup", DataTypeOID: pgtype.Int4OID}, {Name: "dup", DataTypeOID: pgtype.Int4OID},
	}
	e := newRowEncoder(fields)
	vals := [][]byte{[]byte("9007199254740993"), []byte("12.50"), []byte("NaN"), []byte("t"), []byte(`{"a": [1, 2]}`), []byte("x\"y"),
		[]byte("{1,2,NULL}"), []byte(`{a,"b c"}`), []byte(`\x0102`), nil, []byte("1"), []byte("2")}
	out, ok := e.appendRow(nil, vals, 1<<20)
	require.True(t, ok)
	got := string(out)
	require.Equal(t, `{"i":9007199254740993,"n":12.50,"nan":"NaN","b":true,"j":{"a": [1, 2]},"t":"x\"y","arr":[1,2,null],"tarr":["a","b c"],"bytes":"\\x0102","null":null,"dup":2}`, got)
	require.True(t, json.Valid([]byte(got)))
}

func TestRowEncoderArraysAndStrings(t *testing.T) {
	fields := []pgconn.FieldDescription{
		{Name: "f", DataTypeOID: pgtype.Float8ArrayOID}, {Name: "j", DataTypeOID: pgtype.JSONBArrayOID},
		{Name: "b", DataTypeOID: pgtype.BoolArrayOID}, {Name: "t", DataTypeOID: pgtype.TextArrayOID},
		{Name: "nd", DataTypeOID: pgtype.Int4ArrayOID}, {Name: "lb", DataTypeOID: pgtype.Int4ArrayOID},
		{Name: "s", DataTypeOID: pgtype.TextOID},
	}
	e := newRowEncoder(fields)
	vals := [][]byte{[]byte("{1.5,NaN}"), []byte(`{"{\"a\": 1}",NULL}`), []byte("{t,f}"), []byte(`{"NULL",NULL,"a\\b\"c",""}`),
		[]byte("{{1,2},{3,4}}"), []byte("[0:1]={1,2}"), []byte("<\u2028\x01\xff")}
	out, ok := e.appendRow(nil, vals, 1<<20)
	require.True(t, ok)
	require.Equal(t, `{"f":"{1.5,NaN}","j":[{"a": 1},null],"b":[true,false],"t":["NULL",null,"a\\b\"c",""],"nd":"{{1,2},{3,4}}","lb":"[0:1]={1,2}","s":"<\u2028\u0001\ufffd"}`, string(out))
	require.True(t, json.Valid(out))
}

// A value is refused against the budget while it is encoded: escaping
// never grows the buffer far beyond the limit.
func TestRowEncoderBudget(t *testing.T) {
	e := newRowEncoder([]pgconn.FieldDescription{{Name: "s", DataTypeOID: pgtype.TextOID}, {Name: "a", DataTypeOID: pgtype.TextArrayOID}})
	v := make([]byte, 1000)
	for i := range v {
		v[i] = 1 // six bytes each as JSON
	}
	out, ok := e.appendRow(nil, [][]byte{v, nil}, 2000)
	require.False(t, ok)
	require.LessOrEqual(t, len(out), 2006)
	arr := []byte("{" + strings.Repeat("<<<<,", 1000) + "x}")
	out, ok = e.appendRow(nil, [][]byte{[]byte("a"), arr}, 2000)
	require.False(t, ok)
	require.LessOrEqual(t, len(out), 2100)
	out, ok = e.appendRow(nil, [][]byte{[]byte("a"), arr}, 10000)
	require.True(t, ok)
	require.True(t, json.Valid(out))
}
