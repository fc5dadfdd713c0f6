package kongadmin

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/blackhole"
)

// silentKong is a hung Admin API: it accepts connections, never answers.
func silentKong(t *testing.T) string { return "http://" + blackhole.Listen(t) }

func TestSilentKongFailsWithinTheTimeout(t *testing.T) {
	c := &Client{BaseURL: silentKong(t), Timeout: 300 * time.Millisecond}
	for name, call := range map[string]func(context.Context) error{
		"ensure consumer": func(ctx context.Context) error { return c.EnsureConsumer(ctx, "acme--anon") },
		"delete consumer": func(ctx context.Context) error { return c.DeleteConsumer(ctx, "acme--anon") },
		"add key":         func(ctx context.Context) error { _, err := c.AddKey(ctx, "acme--anon", "k"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			start := time.Now()
			// The caller's context has no deadline: the client's own bounds it.
			go func() { done <- call(context.Background()) }()
			select {
			case err := <-done:
				require.ErrorContains(t, err, "no answer within 300ms")
				require.Less(t, time.Since(start), 2*time.Second)
			case <-time.After(5 * time.Second):
				t.Fatal("the call to a silent Kong did not return")
			}
		})
	}
}
