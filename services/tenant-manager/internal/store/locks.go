package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The background jobs that one tenant-manager task at a time may run, each
// under the session advisory lock of its key.
const (
	LockAlarmSync         = "supabase:alarm-sync"
	LockJWTRetire         = "supabase:jwt-retire"
	LockControlsReconcile = "supabase:controls-reconcile"
	LockControlsSync      = "supabase:controls-sync"
	LockFleetReconcile    = "supabase:fleet-reconcile"
)

// LockKeys are the keys TryExclusive accepts.
func LockKeys() []string {
	return []string{LockAlarmSync, LockJWTRetire, LockControlsReconcile, LockControlsSync, LockFleetReconcile}
}

// MinPoolConns is the fewest connections the platform pool may have. A
// lock holder keeps one connection for the lock while its job queries
// through the pool: were every connection a holder's, every job would
// wait for a connection that none gives back, and the task would hang
// (pgxpool's default, four on a small task, is fewer than the jobs that
// start together). One connection per key, and two for the jobs' queries
// and the API.
func MinPoolConns() int32 { return int32(len(LockKeys())) + 2 }

// TryExclusive runs f while holding a session advisory lock named key (one
// of LockKeys), so one of several tenant-manager tasks runs it at a time;
// ran is false when another task holds the lock.
func (s *Store) TryExclusive(ctx context.Context, key string, f func(ctx context.Context) error) (ran bool, err error) {
	if !slices.Contains(LockKeys(), key) {
		// MinPoolConns counts the keys: an unlisted one could hang the pool.
		return false, fmt.Errorf("store: %q is not one of LockKeys", key)
	}
	if max := s.Pool.Config().MaxConns; max < MinPoolConns() {
		return false, fmt.Errorf("store: the platform pool allows %d connections; background jobs need at least %d", max, MinPoolConns())
	}
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", key).Scan(&got); err != nil {
		conn.Release()
		return false, err
	}
	if !got {
		conn.Release()
		return false, nil
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(unlockCtx, "SELECT pg_advisory_unlock(hashtext($1))", key); uerr != nil {
			// A connection that may still hold the lock must not go back
			// to the pool: closing it ends the session and the lock.
			_ = conn.Hijack().Close(unlockCtx)
			return
		}
		conn.Release()
	}()
	return true, f(ctx)
}

// LockHeld says whether some session of this database holds the session
// advisory lock TryExclusive takes for key (pg_locks splits the 64-bit key
// into classid, high half, and objid, low half).
func (s *Store) LockHeld(ctx context.Context, key string) (bool, error) {
	var held bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) = hashtext($1)::bigint)`, key).Scan(&held)
	return held, err
}
