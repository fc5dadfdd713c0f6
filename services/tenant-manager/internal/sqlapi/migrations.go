package sqlapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Migration is one row of supabase_migrations.schema_migrations.
type Migration struct {
	Version string  `json:"version"`
	Name    *string `json:"name"`
}

// migrationTable creates the history table in the shape the Supabase CLI
// gives it (and adds columns it lacks, as the CLI does), plus the
// idempotency key Supabase's own API records. The advisory lock makes
// concurrent migrations of one project take turns, so versions stay
// unique and ordered.
const migrationTable = `SELECT pg_advisory_xact_lock(hashtext('supabase:migrations'));
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[];
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text;
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS idempotency_key text;
CREATE UNIQUE INDEX IF NOT EXISTS schema_migrations_idempotency_key_key ON supabase_migrations.schema_migrations (idempotency_key)`

const versionLayout = "20060102150405"

// nextVersion is now (UTC, YYYYMMDDHHMMSS, as Supabase stamps migrations),
// or one second after the newest timestamp version if that is not older.
func nextVersion(now time.Time, newest string) string {
	v := now.UTC().Format(versionLayout)
	if newest != "" && newest >= v {
		if t, err := time.Parse(versionLayout, newest); err == nil {
			v = t.Add(time.Second).Format(versionLayout)
		}
	}
	return v
}

// ApplyMigration runs the SQL and records it in one transaction: either
// both happen or neither. The SQL may hold several statements but no
// transaction control of its own. An Idempotency-Key already recorded is
// refused with 409, as is a version that exists (a concurrent insert).
// PostgREST is told to reload its schema when the transaction commits.
func (s *Service) ApplyMigration(ctx context.Context, projectID, sql, name, idempotencyKey string) (Migration, error) {
	stmts := splitStatements(sql)
	if len(stmts) == 0 {
		return Migration{}, badRequest("invalid_query", "the migration holds no SQL statement")
	}
	if tc := transactionControl(stmts); tc != "" {
		return Migration{}, badRequest("transaction_control", fmt.Sprintf("the migration contains %s: a migration runs in one transaction of its own, so it must not begin, end or split transactions", tc))
	}
	ctx, sess, done, err := s.open(ctx, projectID)
	if err != nil {
		return Migration{}, err
	}
	defer done()
	conn := sess.c.Conn()
	pc := conn.PgConn()
	fail := func(err error) (Migration, error) {
		sess.broken = sess.broken || ctx.Err() != nil
		// release rolls the transaction back.
		return Migration{}, s.sqlError(ctx, sess, err)
	}
	if _, err := pc.Exec(ctx, "BEGIN; "+migrationTable).ReadAll(); err != nil {
		return fail(err)
	}
	if idempotencyKey != "" {
		var v string
		err := conn.QueryRow(ctx, "SELECT version FROM supabase_migrations.schema_migrations WHERE idempotency_key = $1", idempotencyKey).Scan(&v)
		if err == nil {
			return Migration{}, &Error{Status: http.StatusConflict, Code: "migration_exists", Msg: fmt.Sprintf("a migration with this Idempotency-Key was applied already, as version %s", v)}
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fail(err)
		}
	}
	var newest string
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), '') FROM supabase_migrations.schema_migrations WHERE version ~ '^[0-9]{14}$'").Scan(&newest); err != nil {
		return fail(err)
	}
	version := nextVersion(time.Now(), newest)
	// The transaction's id, to tell afterwards that the SQL ran in this
	// transaction to its end: a COMMIT; BEGIN the splitter missed would
	// leave a transaction open, but another one.
	var xact string
	if err := conn.QueryRow(ctx, "SELECT pg_current_xact_id()::text").Scan(&xact); err != nil {
		return fail(err)
	}

	if _, err := pc.Exec(ctx, sql).ReadAll(); err != nil {
		return fail(err)
	}
	// The statement check above keeps transaction control out; this is
	// the server's word that the SQL did not end the transaction anyway.
	// Closing the session rolls back whatever transaction is open.
	ended := badRequest("transaction_control", "the migration ended its transaction; it must not begin, end or split transactions (what it ran before that point may stand; nothing after it was kept or recorded)")
	if pc.TxStatus() != 'T' {
		sess.broken = true
		return Migration{}, ended
	}
	var after string
	if err := conn.QueryRow(ctx, "SELECT pg_current_xact_id()::text").Scan(&after); err != nil {
		return fail(err)
	}
	if after != xact {
		sess.broken = true
		return Migration{}, ended
	}
	texts := make([]string, len(stmts))
	for i, st := range stmts {
		texts[i] = st.Text
	}
	var namePtr, keyPtr *string
	if name != "" {
		namePtr = &name
	}
	if idempotencyKey != "" {
		keyPtr = &idempotencyKey
	}
	if _, err := conn.Exec(ctx, "INSERT INTO supabase_migrations.schema_migrations (version, name, statements, idempotency_key) VALUES ($1, $2, $3, $4)",
		version, namePtr, texts, keyPtr); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return Migration{}, &Error{Status: http.StatusConflict, Code: "migration_exists", Msg: fmt.Sprintf("migration version %s exists already", version)}
		}
		return fail(err)
	}
	if err := notifyReload(ctx, pc); err != nil {
		return fail(err)
	}
	if _, err := pc.Exec(ctx, "COMMIT").ReadAll(); err != nil {
		return fail(err)
	}
	return Migration{Version: version, Name: namePtr}, nil
}

// ListMigrations lists the recorded migrations, oldest first (at most
// catalogMaxRows); none when the history table does not exist yet.
func (s *Service) ListMigrations(ctx context.Context, projectID string) ([]Migration, error) {
	ctx, sess, done, err := s.open(ctx, projectID)
	if err != nil {
		return nil, err
	}
	defer done()
	conn := sess.c.Conn()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		sess.broken = ctx.Err() != nil
		return nil, s.sqlError(ctx, sess, err)
	}
	out := []Migration{}
	if !exists {
		return out, nil
	}
	// The owner can write any rows into the history table: bounded like
	// the catalog listings (versions and names Supabase makes are short).
	rows, err := conn.Query(ctx, "SELECT left(version, 255), left(name, 255) FROM supabase_migrations.schema_migrations ORDER BY version"+catalogLimit)
	if err != nil {
		sess.broken = ctx.Err() != nil
		return nil, s.sqlError(ctx, sess, err)
	}
	out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Migration, error) {
		var m Migration
		return m, r.Scan(&m.Version, &m.Name)
	})
	if err != nil {
		sess.broken = ctx.Err() != nil
		return nil, s.sqlError(ctx, sess, err)
	}
	return out, nil
}
