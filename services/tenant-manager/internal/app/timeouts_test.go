package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/blackhole"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
)

// blackHole accepts TCP connections and never answers; it returns host:port.
func blackHole(t *testing.T) string { return blackhole.Listen(t) }

// within runs f and fails the test if it has not returned after limit.
func within(t *testing.T, limit time.Duration, f func()) time.Duration {
	t.Helper()
	done := make(chan struct{})
	start := time.Now()
	go func() { defer close(done); f() }()
	select {
	case <-done:
		return time.Since(start)
	case <-time.After(limit):
		t.Fatalf("still waiting after %s", limit)
		return 0
	}
}

// answeredWithin is within for a request: the answer's status and body,
// and how long it took.
func answeredWithin(t *testing.T, limit time.Duration, request func() (int, map[string]any)) (int, map[string]any, time.Duration) {
	t.Helper()
	var status int
	var body map[string]any
	took := within(t, limit, func() { status, body = request() })
	return status, body, took
}

func TestSlowHeadersAreCutOff(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	tt := m.cfg.Timeouts
	tt.ReadHeader = 300 * time.Millisecond
	for name, h := range map[string]http.Handler{"public": m.app.Server.PublicHandler(), "internal": m.app.Server.InternalHandler()} {
		t.Run(name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			srv := HTTPServer(l.Addr().String(), h, tt, slog.New(slog.NewTextHandler(io.Discard, nil)))
			go srv.Serve(l)
			defer srv.Close()

			c, err := net.Dial("tcp", l.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			// Headers started but never finished.
			_, err = fmt.Fprint(c, "GET /health HTTP/1.1\r\nHost: tenant-manager\r\nX-Slow: 1")
			require.NoError(t, err)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
			took := within(t, 6*time.Second, func() {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err == nil {
					resp.Body.Close()
					require.NotEqual(t, http.StatusOK, resp.StatusCode)
				} else {
					var ne net.Error
					require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept the connection open: %v", err)
				}
			})
			require.Less(t, took, 3*time.Second)

			// A prompt client on the same server is served.
			resp, err := http.Get("http://" + l.Addr().String() + "/health")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
}

func TestSilentKongFailsTheStepInTime(t *testing.T) {
	t.Parallel()
	hole := blackHole(t)
	m := newTM(t, func(c *config.Config) {
		c.KongAdminURL = "http://" + hole
		c.Timeouts.Kong = 300 * time.Millisecond
	})
	status, body, took := answeredWithin(t, 20*time.Second, func() (int, map[string]any) { return m.create("kong-hangs") })
	require.Equal(t, http.StatusBadGateway, status, body)
	require.Equal(t, "kong", body["step"], body)
	require.Less(t, took, 10*time.Second, "Kong calls (and their undo) are bounded by KONG_ADMIN_TIMEOUT")
	require.Empty(t, m.leftovers("kong-hangs"))
}

func TestSilentSTSIsAnOutageInTime(t *testing.T) {
	t.Parallel()
	hole := blackHole(t)
	m := newTM(t, func(c *config.Config) {
		c.STSEndpoint = "http://" + hole
		c.Timeouts.STS = 300 * time.Millisecond
	})
	status, body, took := answeredWithin(t, 15*time.Second, func() (int, map[string]any) {
		return m.do("GET", "/project/any-proj/config", "", "", "X-Caller-Identity", identity(t, env.gatewayRoleARN, "kong", time.Now()))
	})
	require.Equal(t, http.StatusServiceUnavailable, status, body)
	require.Less(t, took, 3*time.Second)
}

func TestSilentRedisFailsWithinItsTimeout(t *testing.T) {
	t.Parallel()
	hole := blackHole(t)
	m := newTM(t, func(c *config.Config) {
		c.RedisURL = "redis://" + hole + "/0"
		c.Timeouts.RedisIO = 200 * time.Millisecond
	})
	var err error
	took := within(t, 20*time.Second, func() { err = m.app.Service.Cache.Del(context.Background(), "project:cfg:none") })
	require.Error(t, err)
	require.Less(t, took, 3*time.Second)
}

func TestSilentAWSFailsTheStepInTime(t *testing.T) {
	t.Parallel()
	hole := blackHole(t)
	silent := env.aws.Copy()
	silent.BaseEndpoint = aws.String("http://" + hole)
	m := newTMWithAWS(t, silent, func(c *config.Config) { c.Timeouts.AWS = 200 * time.Millisecond })
	status, body, took := answeredWithin(t, 60*time.Second, func() (int, map[string]any) { return m.create("aws-hangs") })
	require.Equal(t, http.StatusBadGateway, status, body)
	// The log group is a create's first AWS call.
	require.Equal(t, "log_group", body["step"], body)
	// Three attempts per call with the SDK's retry backoff, for the create
	// and the delete of its undo.
	require.Less(t, took, 30*time.Second)
}
