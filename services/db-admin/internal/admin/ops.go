package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Request is an admin operation.
type Request struct {
	Operation string `json:"operation"`
	// Instance is "primary" (default) or a worker id: the key of the
	// instance's master secret in the INSTANCES map.
	Instance string `json:"instance,omitempty"`
	Database string `json:"database,omitempty"`
	SQL      string `json:"sql,omitempty"`
}

// Response is the result of an operation: Data on success, Error otherwise.
type Response struct {
	Data  any    `json:"data,omitempty"`
	Error *Error `json:"error,omitempty"`
}

// Error is a structured failure; Code is a SQLSTATE for database errors or
// one of invalid_request, unknown_instance, connection_failed, internal.
type Error struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Detail   string `json:"detail,omitempty"`
	Hint     string `json:"hint,omitempty"`
	Position int32  `json:"position,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Database is one row of list_databases.
type Database struct {
	Name      string `json:"name"`
	Owner     string `json:"owner"`
	SizeBytes int64  `json:"size_bytes"`
}

// Result is what execute_sql returns.
type Result struct {
	Command string           `json:"command"`
	Rows    int64            `json:"rows_affected"`
	Columns []string         `json:"columns"`
	Data    []map[string]any `json:"data"`
}

// maxRows bounds a result so one query cannot exhaust the Lambda's memory.
const maxRows = 1000

// Admin runs operations against the configured instances.
type Admin struct {
	Secrets SecretReader
	// Instances maps instance names ("primary", worker ids) to the ARNs of
	// their master secrets.
	Instances map[string]string
	TLS       TLS
}

// Handle runs one request and never returns a Go error: failures are
// reported in the response so the caller sees a structured error.
func (a *Admin) Handle(ctx context.Context, req Request) Response {
	data, err := a.handle(ctx, req)
	if err != nil {
		return Response{Error: toError(err)}
	}
	return Response{Data: data}
}

func (a *Admin) handle(ctx context.Context, req Request) (any, error) {
	switch req.Operation {
	case "list_databases":
		conn, err := a.open(ctx, req.Instance, "postgres")
		if err != nil {
			return nil, err
		}
		defer conn.Close(ctx)
		return listDatabases(ctx, conn)
	case "execute_sql":
		if req.Database == "" || req.SQL == "" {
			return nil, &Error{Code: "invalid_request", Message: "execute_sql needs database and sql"}
		}
		conn, err := a.open(ctx, req.Instance, req.Database)
		if err != nil {
			return nil, err
		}
		defer conn.Close(ctx)
		return executeSQL(ctx, conn, req.SQL)
	case "":
		return nil, &Error{Code: "invalid_request", Message: `missing "operation" (list_databases or execute_sql)`}
	default:
		return nil, &Error{Code: "invalid_request", Message: fmt.Sprintf("unknown operation %q (list_databases or execute_sql)", req.Operation)}
	}
}

func (a *Admin) open(ctx context.Context, instance, database string) (*pgx.Conn, error) {
	if instance == "" {
		instance = "primary"
	}
	arn, ok := a.Instances[instance]
	if !ok {
		return nil, &Error{Code: "unknown_instance", Message: fmt.Sprintf("no instance %q (known: %s)", instance, keys(a.Instances))}
	}
	creds, err := readCredentials(ctx, a.Secrets, arn, true)
	if err != nil {
		return nil, &Error{Code: "connection_failed", Message: err.Error()}
	}
	conn, err := connect(ctx, creds, database, a.TLS)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return nil, err
		}
		return nil, &Error{Code: "connection_failed", Message: err.Error()}
	}
	return conn, nil
}

func listDatabases(ctx context.Context, conn *pgx.Conn) ([]Database, error) {
	rows, err := conn.Query(ctx, `
		SELECT d.datname, pg_get_userbyid(d.datdba),
		       CASE WHEN has_database_privilege(d.datname, 'CONNECT') THEN pg_database_size(d.datname) ELSE -1 END
		FROM pg_database d
		WHERE NOT d.datistemplate
		ORDER BY d.datname`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Database, error) {
		var d Database
		return d, r.Scan(&d.Name, &d.Owner, &d.SizeBytes)
	})
}

func executeSQL(ctx context.Context, conn *pgx.Conn, sql string) (*Result, error) {
	// The simple protocol runs multi-statement scripts as given.
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &Result{Columns: []string{}, Data: []map[string]any{}}
	for _, f := range rows.FieldDescriptions() {
		res.Columns = append(res.Columns, f.Name)
	}
	for rows.Next() {
		if len(res.Data) == maxRows {
			continue // drain, but keep only the first maxRows
		}
		values, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := make(map[string]any, len(values))
		for i, v := range values {
			row[res.Columns[i]] = jsonValue(v)
		}
		res.Data = append(res.Data, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	tag := rows.CommandTag()
	res.Command, res.Rows = tag.String(), tag.RowsAffected()
	return res, nil
}

// jsonValue makes pgx values JSON-friendly (times as RFC 3339, bytes as
// base64 through encoding/json, everything else as it is).
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case [16]byte: // uuid
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	case json.Marshaler, nil, string, bool, int16, int32, int64, float32, float64, []byte, map[string]any, []any:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return &Error{Code: pgErr.Code, Message: pgErr.Message, Detail: pgErr.Detail, Hint: pgErr.Hint, Position: pgErr.Position}
	}
	return &Error{Code: "internal", Message: err.Error()}
}

func keys(m map[string]string) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
