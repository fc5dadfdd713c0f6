// Package dbtest is test support of db-admin's test binaries: each runs
// against one PostgreSQL 16 server and one moto server of its own.
package dbtest

import (
	"fmt"
	"os"
	"testing"

	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/moto"
	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/pgtest"
)

// Main is the body of a TestMain: it starts both servers, hands them to
// ready (which sets the package's globals before any test runs), runs the
// tests, stops the servers and exits with the tests' code.
func Main(m *testing.M, ready func(pg *pgtest.Server, motoURL string)) {
	pg, err := pgtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting PostgreSQL:", err)
		os.Exit(1)
	}
	mt, err := moto.Start()
	if err != nil {
		pg.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ready(pg, mt.URL)
	code := m.Run()
	mt.Stop()
	pg.Stop()
	os.Exit(code)
}
