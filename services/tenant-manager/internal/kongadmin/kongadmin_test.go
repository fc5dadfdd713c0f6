package kongadmin

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// silentKong accepts connections and never answers, like a hung Admin API.
func silentKong(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

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
