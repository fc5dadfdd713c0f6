// Package sqlapi runs a tenant's SQL for the management API: queries,
// read-only queries, migrations recorded the way the Supabase CLI records
// them, and catalog listings. Everything runs in the tenant's database as
// its owner role, logged in as itself (never the worker's master with SET
// ROLE, which RESET ROLE would undo), so a session can do what the owner
// may and nothing more.
package sqlapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/secretbox"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/worker"
)

// colPassword is the associated data of a sealed owner password.
const colPassword = "sql_logins.password"

// poolSize is the number of owner sessions one tenant-manager task keeps
// per project; worker.OwnerConnectionLimit caps them across tasks.
const poolSize = 4

// Error is an answer meant for the caller as it is.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg) }

func badRequest(code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Msg: msg}
}

// Service runs tenants' SQL.
type Service struct {
	// Platform is the platform database (projects, sql_logins).
	Platform *pgxpool.Pool
	Box      *secretbox.Box
	Workers  map[string]*worker.Worker
	Limits   config.SQL
	Log      *slog.Logger

	mu    sync.Mutex
	pools map[string]*ownerPool // by project id

	slotsOnce sync.Once
	slots     chan struct{} // one per running SQL request
	frames    sync.Map      // *pgproto3.Frontend -> *frameWatch
}

type ownerPool struct {
	*pgxpool.Pool
	password string
}

// Close closes the owner pools.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, p := range s.pools {
		p.Close()
		delete(s.pools, id)
	}
}

// project finds an active project and its worker.
func (s *Service) project(ctx context.Context, projectID string) (*worker.Worker, error) {
	var status string
	var workerID *string
	err := s.Platform.QueryRow(ctx, "SELECT status, worker_id FROM projects WHERE id = $1", projectID).Scan(&status, &workerID)
	if errors.Is(err, pgx.ErrNoRows) {
		s.dropPool(projectID)
		return nil, &Error{Status: http.StatusNotFound, Code: "not_found", Msg: "project not found"}
	}
	if err != nil {
		return nil, err
	}
	if status != "active" || workerID == nil {
		return nil, &Error{Status: http.StatusConflict, Code: "not_active", Msg: fmt.Sprintf("project %s is %s", projectID, status)}
	}
	w, ok := s.Workers[*workerID]
	if !ok {
		return nil, fmt.Errorf("worker %s is not configured in WORKERS", *workerID)
	}
	return w, nil
}

func (s *Service) dropPool(projectID string) {
	s.mu.Lock()
	p := s.pools[projectID]
	delete(s.pools, projectID)
	s.mu.Unlock()
	if p != nil {
		p.Close()
	}
}

func randomPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ownerPassword returns the owner login's password, enabling the login
// first when the project has none yet (projects are created without it).
// With failed set, the login was refused with that password: unless
// another request has set a new one meanwhile, a new one is set (the
// owner may have changed its own password through SQL). An advisory lock
// per project keeps concurrent tasks from setting different passwords.
func (s *Service) ownerPassword(ctx context.Context, projectID string, w *worker.Worker, failed string) (string, error) {
	var password string
	err := pgx.BeginFunc(ctx, s.Platform, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('supabase:sql-login:' || $1))", projectID); err != nil {
			return err
		}
		var sealed []byte
		err := tx.QueryRow(ctx, "SELECT password FROM sql_logins WHERE project_id = $1", projectID).Scan(&sealed)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err == nil {
			pw, err := s.Box.Open(projectID, colPassword, sealed)
			if err != nil {
				return err
			}
			if failed == "" || string(pw) != failed {
				password = string(pw)
				return nil
			}
		}
		pw, err := randomPassword()
		if err != nil {
			return err
		}
		sealed, err = s.Box.Seal(projectID, colPassword, []byte(pw))
		if err != nil {
			return err
		}
		// The row first, the role second: if the ALTER fails the
		// transaction rolls back and nothing claims a password the role
		// does not have.
		if _, err := tx.Exec(ctx, `INSERT INTO sql_logins (project_id, password) VALUES ($1, $2)
			ON CONFLICT (project_id) DO UPDATE SET password = excluded.password, updated_at = now()`, projectID, sealed); err != nil {
			return err
		}
		if err := w.EnableOwnerLogin(ctx, projectID, pw); err != nil {
			return err
		}
		s.Log.Info("owner login for SQL enabled", "project_id", projectID, "worker_id", w.ID, "reset", failed != "")
		password = pw
		return nil
	})
	return password, err
}

// pool returns the project's owner pool, creating it (and the login) when
// needed.
func (s *Service) pool(ctx context.Context, projectID string, w *worker.Worker, failed string) (*pgxpool.Pool, string, error) {
	s.mu.Lock()
	p := s.pools[projectID]
	s.mu.Unlock()
	if p != nil && failed == "" {
		return p.Pool, p.password, nil
	}
	password, err := s.ownerPassword(ctx, projectID, w, failed)
	if err != nil {
		return nil, "", err
	}
	cfg := w.Pool.Config()
	// The master's hooks (secret lookups) must not touch these sessions.
	cfg.BeforeConnect, cfg.AfterConnect, cfg.BeforeAcquire, cfg.AfterRelease, cfg.PrepareConn = nil, nil, nil, nil, nil
	cc := cfg.ConnConfig
	cc.User, cc.Password, cc.Database = worker.OwnerRole(projectID), password, worker.DatabaseName(projectID)
	cc.RuntimeParams = map[string]string{
		"application_name": "tenant-manager-sql",
		// The first bound; a session may raise its own, so the request's
		// context deadline is the one that holds.
		"statement_timeout": strconv.FormatInt(s.Limits.StatementTimeout.Milliseconds(), 10),
	}
	// Unnamed statements only: DISCARD ALL after every request drops
	// named ones, which a statement cache would still believe in.
	cc.DefaultQueryExecMode = pgx.QueryExecModeExec
	cc.StatementCacheCapacity, cc.DescriptionCacheCapacity = 0, 0
	// pgx would otherwise accept messages up to 1 GiB: a single huge
	// value (or notice, or error text) would be buffered whole before any
	// check of ours ran.
	cc.MaxProtocolMessageBodyLen = s.wireLimit()
	cc.BuildFrontend = s.buildFrontend
	cfg.BeforeClose = func(c *pgx.Conn) { s.forgetConn(c.PgConn()) }
	// A cancelled request cancels its statement on the server (the
	// default only closes the socket, leaving the statement running).
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 2 * time.Second}
	}
	cfg.MaxConns, cfg.MinConns = poolSize, 0
	cfg.MaxConnIdleTime = time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	np, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	if s.pools == nil {
		s.pools = map[string]*ownerPool{}
	}
	old := s.pools[projectID]
	s.pools[projectID] = &ownerPool{Pool: np, password: password}
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return np, password, nil
}

func isLoginRefused(err error) bool {
	var pgErr *pgconn.PgError
	// 28P01 wrong password, 28000 login not allowed (NOLOGIN).
	return errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000")
}

// session is one owner connection for one request.
type session struct {
	s      *Service
	c      *pgxpool.Conn
	broken bool
	done   func()      // gives the request's slot back
	stop   func() bool // disarms the termination at the deadline
}

func (s *Service) acquire(ctx context.Context, projectID string) (sess *session, err error) {
	done, err := s.takeSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			done()
		}
	}()
	w, err := s.project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	p, password, err := s.pool(ctx, projectID, w, "")
	if err != nil {
		return nil, err
	}
	c, err := p.Acquire(ctx)
	if err != nil && isLoginRefused(err) {
		if p, _, err = s.pool(ctx, projectID, w, password); err != nil {
			return nil, err
		}
		c, err = p.Acquire(ctx)
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "53300" {
			return nil, &Error{Status: http.StatusServiceUnavailable, Code: "too_many_connections", Msg: "the project's database has no free connection for SQL now; retry"}
		}
		if ctx.Err() != nil {
			return nil, timeoutError(s.Limits.StatementTimeout)
		}
		return nil, err
	}
	// A cancel request alone does not end every statement (PL/pgSQL can
	// catch it, the SQL can lift its own timeout): once the request's
	// deadline passes or its caller goes, the master terminates the
	// backend, which nothing in the session can catch.
	pid := c.Conn().PgConn().PID()
	stop := context.AfterFunc(ctx, func() {
		tctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.TerminateOwnerSession(tctx, projectID, pid); err != nil {
			s.Log.Warn("ending an SQL session past its deadline failed; the periodic sweep ends it", "project_id", projectID, "error", err.Error())
		}
	})
	return &session{s: s, c: c, done: done, stop: stop}, nil
}

// release hands the connection back clean: an open transaction rolled
// back and every session setting, temporary table, prepared statement,
// listener and advisory lock the SQL left behind discarded, so the next
// request starts from the login's defaults. A connection that cannot be
// cleaned, or whose request was cut off, is closed instead.
func (s *session) release() {
	defer s.done()
	if s.stop != nil && !s.stop() {
		// Being terminated: never hand it to the next request.
		s.broken = true
	}
	pc := s.c.Conn().PgConn()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok := !s.broken && !pc.IsClosed() && !pc.IsBusy()
	if ok && pc.TxStatus() != 'I' {
		_, err := pc.Exec(ctx, "ROLLBACK").ReadAll()
		ok = err == nil
	}
	if ok {
		_, err := pc.Exec(ctx, "DISCARD ALL").ReadAll()
		ok = err == nil
	}
	if ok {
		s.c.Release()
		return
	}
	conn := s.c.Hijack()
	s.s.forgetConn(pc)
	if pc.IsBusy() {
		_ = pc.CancelRequest(ctx)
	}
	_ = conn.Close(ctx)
}

func timeoutError(d time.Duration) *Error {
	return &Error{Status: http.StatusRequestTimeout, Code: "statement_timeout",
		Msg: fmt.Sprintf("the SQL ran longer than the limit of %s (SQL_STATEMENT_TIMEOUT) and was cancelled", d)}
}

// sqlError turns what the server said about the caller's SQL into the
// caller's answer. Every server error is the caller's (its SQL can raise
// any SQLSTATE, XX000 and 57P01 included), answered 400 with the text
// bounded, except a cancelled statement (408) and no free connection
// (503); a request whose deadline passed is 408 whatever the connection
// reported (its backend is terminated then). Other failures stay
// internal, and none carries tenant-chosen text into the log.
func (s *Service) sqlError(ctx context.Context, sess *session, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if isWireTooLarge(err) || (sess != nil && s.exceededWire(sess.c.Conn().PgConn())) {
		return s.wireTooLarge()
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "57014" || ctx.Err() != nil:
			return timeoutError(s.Limits.StatementTimeout)
		case pgErr.Code == "53300":
			return &Error{Status: http.StatusServiceUnavailable, Code: "too_many_connections", Msg: "the project's database has no free connection for SQL now; retry"}
		}
		return &Error{Status: http.StatusBadRequest, Code: "sql_error", Msg: pgErrorMessage(pgErr)}
	}
	if ctx.Err() != nil {
		return timeoutError(s.Limits.StatementTimeout)
	}
	return err
}
