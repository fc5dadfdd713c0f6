package sqlapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5/pgconn"
)

// Result is a query's answer: the JSON array of the last statement's rows.
type Result struct {
	JSON []byte
	Rows int
}

// collector keeps the rows of the result being read, within the caps.
type collector struct {
	lim  *Service
	buf  []byte
	rows int
}

// read reads one result set (the previous one is dropped: the answer is
// the last statement's rows). Past a cap it stops at once: the caller
// then closes the connection rather than drain the rest.
func (c *collector) read(rr *pgconn.ResultReader) (capped bool, err error) {
	enc := newRowEncoder(rr.FieldDescriptions())
	c.buf = append(c.buf[:0], '[')
	c.rows = 0
	for rr.NextRow() {
		c.rows++
		if c.rows > c.lim.Limits.MaxRows {
			return true, &Error{Status: http.StatusBadRequest, Code: "too_many_rows",
				Msg: fmt.Sprintf("a statement returned more than %d rows (SQL_MAX_ROWS); add a LIMIT or page with OFFSET/keyset conditions", c.lim.Limits.MaxRows)}
		}
		if c.rows > 1 {
			c.buf = append(c.buf, ',')
		}
		var ok bool
		// The answer's closing bracket needs one more byte.
		if c.buf, ok = enc.appendRow(c.buf, rr.Values(), int(c.lim.Limits.MaxBytes)-1); !ok {
			c.buf = nil
			return true, c.lim.tooLarge()
		}
	}
	_, err = rr.Close()
	return false, err
}

func (c *collector) result() Result {
	if len(c.buf) == 0 {
		return Result{JSON: []byte("[]")}
	}
	return Result{JSON: append(c.buf, ']'), Rows: c.rows}
}

// textParams turns JSON parameters into text-format values the server
// types itself: strings as they are, numbers and booleans in their JSON
// spelling, null as NULL, objects and arrays as JSON text.
func textParams(params []json.RawMessage) ([][]byte, error) {
	out := make([][]byte, len(params))
	for i, p := range params {
		switch {
		case len(p) == 0 || string(p) == "null":
			out[i] = nil
		case p[0] == '"':
			var s string
			if err := json.Unmarshal(p, &s); err != nil {
				return nil, badRequest("invalid_body", fmt.Sprintf("parameters[%d]: %v", i, err))
			}
			out[i] = []byte(s)
		default:
			out[i] = append([]byte(nil), p...)
		}
	}
	return out, nil
}

// Query runs SQL as the owner. Without parameters it goes through the
// simple protocol, so several statements may be sent at once (one
// implicit transaction unless the SQL manages its own); with parameters
// it is one statement through the extended protocol. readOnly runs it as
// ReadOnlyQuery does. Unless every statement is a plain read, PostgREST is
// told to reload its schema afterwards.
func (s *Service) Query(ctx context.Context, projectID, sql string, params []json.RawMessage, readOnly bool) (Result, error) {
	if readOnly {
		return s.ReadOnlyQuery(ctx, projectID, sql, params)
	}
	return s.withSession(ctx, projectID, params, func(ctx context.Context, sess *session, values [][]byte) (Result, error) {
		return s.query(ctx, projectID, sess, sql, values, len(params) > 0)
	})
}

// withSession checks and converts the parameters, then runs run on a
// session of the project's owner, all within the statement timeout.
func (s *Service) withSession(ctx context.Context, projectID string, params []json.RawMessage, run func(ctx context.Context, sess *session, values [][]byte) (Result, error)) (Result, error) {
	if err := checkParameters(len(params)); err != nil {
		return Result{}, err
	}
	values, err := textParams(params)
	if err != nil {
		return Result{}, err
	}
	ctx, sess, done, err := s.open(ctx, projectID)
	if err != nil {
		return Result{}, err
	}
	defer done()
	return run(ctx, sess, values)
}

// open takes a session of the project's owner and bounds ctx by the
// statement timeout; done gives both back.
func (s *Service) open(ctx context.Context, projectID string) (_ context.Context, _ *session, done func(), _ error) {
	ctx, cancel := context.WithTimeout(ctx, s.Limits.StatementTimeout)
	sess, err := s.acquire(ctx, projectID)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, sess, func() { sess.release(); cancel() }, nil
}

// readParams runs one statement through the extended protocol into col;
// a session whose answer was cut short or timed out is not reused.
func (s *Service) readParams(ctx context.Context, sess *session, col *collector, sql string, values [][]byte) error {
	capped, err := col.read(sess.c.Conn().PgConn().ExecParams(ctx, sql, values, nil, nil, nil))
	if err != nil {
		sess.broken = capped || ctx.Err() != nil
		return s.sqlError(ctx, sess, err)
	}
	return nil
}

// query is Query on the session: with parameters one statement, else
// through the simple protocol.
func (s *Service) query(ctx context.Context, projectID string, sess *session, sql string, values [][]byte, withParams bool) (Result, error) {
	pc := sess.c.Conn().PgConn()
	col := &collector{lim: s}
	if withParams {
		if err := s.readParams(ctx, sess, col, sql, values); err != nil {
			return Result{}, err
		}
	} else {
		mrr := pc.Exec(ctx, sql)
		for mrr.NextResult() {
			capped, err := col.read(mrr.ResultReader())
			if err != nil {
				sess.broken = capped || ctx.Err() != nil
				if !capped {
					_ = mrr.Close()
				}
				return Result{}, s.sqlError(ctx, sess, err)
			}
		}
		if err := mrr.Close(); err != nil {
			sess.broken = ctx.Err() != nil
			return Result{}, s.sqlError(ctx, sess, err)
		}
	}
	// A transaction the SQL left open is rolled back at release: nothing
	// of it is visible, so there is nothing to reload.
	if pc.TxStatus() == 'I' && !onlyReads(splitStatements(sql)) {
		if err := notifyReload(ctx, pc); err != nil {
			sess.broken = true
			s.Log.Warn("asking PostgREST to reload its schema failed", "project_id", projectID, "error", err.Error())
		}
	}
	return col.result(), nil
}

// notifyReload is PostgREST's documented way to reload its schema cache;
// every instance listening on the tenant database gets it, and one that
// starts later reads the schema afresh anyway.
func notifyReload(ctx context.Context, pc *pgconn.PgConn) error {
	_, err := pc.Exec(ctx, "NOTIFY pgrst, 'reload schema'").ReadAll()
	return err
}

// ReadOnlyQuery runs one statement in a read-only transaction that is
// always rolled back. A harmless query runs first, so the transaction's
// mode is fixed (SET TRANSACTION READ WRITE is refused), and the SQL goes
// through the extended protocol, which takes one statement only: a
// "COMMIT; …" cannot leave the transaction.
func (s *Service) ReadOnlyQuery(ctx context.Context, projectID, sql string, params []json.RawMessage) (Result, error) {
	return s.withSession(ctx, projectID, params, func(ctx context.Context, sess *session, values [][]byte) (Result, error) {
		pc := sess.c.Conn().PgConn()
		if _, err := pc.Exec(ctx, "BEGIN TRANSACTION READ ONLY; SELECT 1").ReadAll(); err != nil {
			sess.broken = true
			return Result{}, s.sqlError(ctx, sess, err)
		}
		col := &collector{lim: s}
		if err := s.readParams(ctx, sess, col, sql, values); err != nil {
			return Result{}, err
		}
		if _, err := pc.Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
			sess.broken = true
			return Result{}, s.sqlError(ctx, sess, err)
		}
		return col.result(), nil
	})
}
