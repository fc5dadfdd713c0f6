package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The loop catches every cancel and lifts its own timeout; only
// termination ends it.
const escapeLoop = `SET statement_timeout=0; DO $$BEGIN LOOP BEGIN PERFORM pg_sleep(1); EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END$$`

func TestSweepEndsStatementsPastTheirLimit(t *testing.T) {
	ctx := context.Background()
	w := newWorker(t)
	require.NoError(t, w.Provision(ctx, "sweep-a", "pw-auth"))
	require.NoError(t, w.EnableOwnerLogin(ctx, "sweep-a", "pw-owner"))
	t.Cleanup(func() { _ = w.Deprovision(ctx, "sweep-a") })

	run := func(user, password string) (uint32, chan error) {
		c, err := pg.Connect(ctx, user, password, "supabase_sweep_a")
		require.NoError(t, err)
		t.Cleanup(func() { c.Close(ctx) })
		done := make(chan error, 1)
		go func() {
			_, err := c.Exec(ctx, escapeLoop)
			done <- err
		}()
		return c.PgConn().PID(), done
	}
	_, authDone := run("sweep-a_authenticator", "pw-auth")
	_, ownerDone := run("sweep-a_owner", "pw-owner")
	time.Sleep(300 * time.Millisecond)

	n, err := w.Sweep(ctx, SweepLimits{Owner: time.Hour, Authenticator: time.Hour})
	require.NoError(t, err)
	require.Zero(t, n, "nothing has run that long")

	time.Sleep(1200 * time.Millisecond)
	n, err = w.Sweep(ctx, SweepLimits{Owner: 0, Authenticator: time.Second})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	select {
	case err := <-authDone:
		require.Equal(t, "57P01", code(err), "terminated: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the authenticator's loop still runs")
	}
	select {
	case <-ownerDone:
		t.Fatal("the owner's session was not to be swept (limit 0)")
	default:
	}
	n, err = w.Sweep(ctx, SweepLimits{Owner: time.Second})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	select {
	case err := <-ownerDone:
		require.Equal(t, "57P01", code(err), "terminated: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the owner's loop still runs")
	}
}
