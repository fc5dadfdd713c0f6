package provision

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEveryRunsUntilTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	start := time.Now()
	var first time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, 20*time.Millisecond, func() {
			if calls.Add(1) == 1 {
				first = time.Since(start)
			}
			if calls.Load() == 3 {
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Every did not return when its context ended")
	}
	require.EqualValues(t, 3, calls.Load(), "no call after the context ended")
	require.GreaterOrEqual(t, first, 20*time.Millisecond, "the first call waits one interval")
}
