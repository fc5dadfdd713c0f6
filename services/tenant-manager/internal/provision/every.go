package provision

import (
	"context"
	"time"
)

// Every calls fn once per interval, the first time one interval from now,
// until ctx ends; a call that outlasts the interval delays the next one
// rather than stacking calls up.
func Every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A tick and the end can be ready together; the end wins.
		if ctx.Err() != nil {
			return
		}
		fn()
	}
}
