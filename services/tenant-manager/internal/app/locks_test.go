package app

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// Every background job holds its lock's connection while it queries
// through the pool. With all of them running at once, each still gets a
// connection for its queries: the pool can never be all lock holders.
func TestBackgroundJobsNeverStarveThePool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	platform := func(t *testing.T, maxConns int32) *store.Store {
		pool, err := pgxpool.New(ctx, env.pg1.URL(env.pg1.AdminUser, env.pg1.AdminPassword, newPlatformDB(t))+fmt.Sprintf("&pool_max_conns=%d", maxConns))
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		return &store.Store{Pool: pool}
	}

	t.Run("every job holds its lock and queries at the same time", func(t *testing.T) {
		st := platform(t, store.MinPoolConns())
		keys := store.LockKeys()
		var holding, wg sync.WaitGroup
		holding.Add(len(keys))
		errs := make([]error, len(keys))
		for i, key := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				defer cancel()
				ran, err := st.TryExclusive(qctx, key, func(ctx context.Context) error {
					holding.Done()
					holding.Wait()
					// Several queries each, as the jobs make.
					for range 3 {
						var n int
						if err := st.Pool.QueryRow(ctx, "SELECT count(*) FROM projects").Scan(&n); err != nil {
							return err
						}
					}
					return nil
				})
				if err == nil && !ran {
					err = fmt.Errorf("%s: lock not taken", key)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, keys[i])
		}
	})

	t.Run("a pool too small for the jobs, or an unknown key, is refused", func(t *testing.T) {
		st := platform(t, store.MinPoolConns()-1)
		ran, err := st.TryExclusive(ctx, store.LockAlarmSync, func(context.Context) error { return nil })
		require.False(t, ran)
		require.ErrorContains(t, err, fmt.Sprintf("background jobs need at least %d", store.MinPoolConns()))
		st = platform(t, store.MinPoolConns())
		ran, err = st.TryExclusive(ctx, "supabase:something-else", func(context.Context) error { return nil })
		require.False(t, ran)
		require.ErrorContains(t, err, "not one of LockKeys")
	})

	t.Run("the tenant-manager raises a smaller pool_max_conns", func(t *testing.T) {
		m := newTM(t, func(c *config.Config) { c.PlatformDatabaseURL += "&pool_max_conns=2" })
		require.Equal(t, store.MinPoolConns(), m.app.Service.Store.Pool.Config().MaxConns)
		status, _ := m.do("GET", "/health", "", "")
		require.Equal(t, 200, status)
	})
}
