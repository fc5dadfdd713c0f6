package sqlapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func texts(stmts []statement) []string {
	out := []string{}
	for _, s := range stmts {
		out = append(out, s.Text)
	}
	return out
}

func TestSplitStatements(t *testing.T) {
	cases := []struct {
		sql  string
		want []string
	}{
		{"select 1; select 2;", []string{"select 1", "select 2"}},
		{"select ';' ; select 'it''s;'", []string{"select ';'", "select 'it''s;'"}},
		{`select E'\';' ; select 2`, []string{`select E'\';'`, "select 2"}},
		{`select "a;b" from t; select 2`, []string{`select "a;b" from t`, "select 2"}},
		{"select 1 -- ; not here\n; select 2", []string{"select 1 -- ; not here", "select 2"}},
		{"select /* ; /* nested ; */ still ; */ 1; select 2", []string{"select /* ; /* nested ; */ still ; */ 1", "select 2"}},
		{"do $$ begin perform 1; commit; end $$; select 2", []string{"do $$ begin perform 1; commit; end $$", "select 2"}},
		{"create function f() returns int language plpgsql as $body$ begin return 1; end $body$; select $1", []string{"create function f() returns int language plpgsql as $body$ begin return 1; end $body$", "select $1"}},
		{"create function g() returns int language sql begin atomic select 1; select case when true then 2 end; end; commit", []string{"create function g() returns int language sql begin atomic select 1; select case when true then 2 end; end", "commit"}},
		{"select a$b$c from t; select 2", []string{"select a$b$c from t", "select 2"}},
		{";;  ; ", []string{}},
	}
	for _, c := range cases {
		require.Equal(t, c.want, texts(splitStatements(c.sql)), c.sql)
	}
}

func TestTransactionControl(t *testing.T) {
	refused := map[string]string{
		"create table a(); commit":      "COMMIT",
		"BEGIN; create table a()":       "BEGIN",
		"create table a(); /* x */ end": "END",
		"rollback":                      "ROLLBACK",
		"abort":                         "ABORT",
		"savepoint s":                   "SAVEPOINT",
		"release s":                     "RELEASE",
		"start transaction":             "START TRANSACTION",
		"prepare transaction 'x'":       "PREPARE TRANSACTION",
		"commit prepared 'x'":           "COMMIT",
		"create table a(); -- comment\n  Commit  ;":       "COMMIT",
		"select 1;\n/* multi\nline */ rollback and chain": "ROLLBACK",
		// A column named begin opens no BEGIN ATOMIC body.
		"create table a(begin int); commit; begin; create table b(x int); select 1/0":    "COMMIT",
		"create table a(begin int); begin;":                                              "BEGIN",
		"create function f(begin atomic) returns int language sql as 'select 1'; commit": "COMMIT",
		"create table c(x int, begin int, y int, case_ int); end":                        "END",
	}
	for sql, want := range refused {
		require.Equal(t, want, transactionControl(splitStatements(sql)), sql)
	}
	allowed := []string{
		"create table a(x int); insert into a values (1)",
		"do $$ begin commit; end $$",
		"select 'commit; begin'",
		`create table "commit"(x int)`,
		"prepare p as select 1",
		"create function f() returns int language sql begin atomic select 1; end",
		"create or replace function h() returns trigger language plpgsql as $$ begin return new; end $$",
	}
	for _, sql := range allowed {
		require.Empty(t, transactionControl(splitStatements(sql)), sql)
	}
}

func TestOnlyReads(t *testing.T) {
	for _, sql := range []string{"select 1", "select 1; values (2); table t; show search_path", "(select 1)"} {
		require.True(t, onlyReads(splitStatements(sql)), sql)
	}
	for _, sql := range []string{"create table t()", "select 1; drop table t", "select * into t2 from t", "with x as (delete from t returning 1) select * from x", "", "notify pgrst"} {
		require.False(t, onlyReads(splitStatements(sql)), sql)
	}
}

func TestNextVersion(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	require.Equal(t, "20250304050607", nextVersion(now, ""))
	require.Equal(t, "20250304050607", nextVersion(now, "20250304050606"))
	// Same second, or a history ahead of the clock: one second after it.
	require.Equal(t, "20250304050608", nextVersion(now, "20250304050607"))
	require.Equal(t, "20300101000000", nextVersion(now, "20291231235959"))
}
