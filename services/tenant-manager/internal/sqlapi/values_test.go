package sqlapi

import (
	"encoding/json"
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
	e := newRowEncoder(fields, pgtype.NewMap())
	vals := [][]byte{[]byte("9007199254740993"), []byte("12.50"), []byte("NaN"), []byte("t"), []byte(`{"a": [1, 2]}`), []byte("x\"y"),
		[]byte("{1,2,NULL}"), []byte(`{a,"b c"}`), []byte(`\x0102`), nil, []byte("1"), []byte("2")}
	got := string(e.appendRow(nil, vals))
	require.Equal(t, `{"i":9007199254740993,"n":12.50,"nan":"NaN","b":true,"j":{"a": [1, 2]},"t":"x\"y","arr":[1,2,null],"tarr":["a","b c"],"bytes":"\\x0102","null":null,"dup":2}`, got)
	require.True(t, json.Valid([]byte(got)))
}
