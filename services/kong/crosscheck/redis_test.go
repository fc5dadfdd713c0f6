package crosscheck

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// redisServer starts a throwaway redis-server on a free loopback port and
// returns a function running redis-cli against it.
func redisServer(t *testing.T) func(args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is required: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())
	srv := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir())
	require.NoError(t, srv.Start())
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	})
	cli := func(args ...string) string {
		out, err := exec.Command("redis-cli", append([]string{"-h", "127.0.0.1", "-p", port}, args...)...).CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.TrimRight(string(out), "\n")
	}
	for i := 0; ; i++ {
		out, err := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", port, "PING").CombinedOutput()
		if err == nil && strings.TrimSpace(string(out)) == "PONG" {
			break
		}
		require.Less(t, i, 100, "redis-server did not start: %s", out)
		time.Sleep(50 * time.Millisecond)
	}
	return cli
}

// The gateway's refill script, exactly as cfgcache.lua holds it, run by a
// real Redis: a lower version never overwrites the cached document.
func TestConfigCacheScriptOnRedis(t *testing.T) {
	cfg := func(version float64, secret string) map[string]any {
		return map[string]any{"kind": "cfgcache", "cfg": map[string]any{"project_id": "acme-prod",
			"function_url": "https://abcdefgh.lambda-url.eu-west-1.on.aws/", "jwt_secret": secret, "jwt_kid": "k-" + secret,
			"version": version}}
	}
	out := lua(t, []any{cfg(3, "three"), cfg(2, "two"), cfg(3, "three-again"), cfg(4, "four"), cfg(0, "zero"),
		cfg(9007199254740991, "max"), cfg(9007199254740990, "max-minus-one")})
	script := out[0]["script"].(string)
	cli := redisServer(t)
	key := "project:cfg:acme-prod"
	eval := func(i int) string {
		return cli("EVAL", script, "1", key, out[i]["doc"].(string), out[i]["version"].(string), "300")
	}
	stored := func() string { return cli("GET", key) }

	require.Equal(t, "1", eval(0), "empty cache: written")
	require.Equal(t, out[0]["doc"], stored())
	ttl := cli("TTL", key)
	require.Contains(t, []string{"299", "300"}, ttl)
	require.Equal(t, "0", eval(1), "older version: refused")
	require.Equal(t, out[0]["doc"], stored())
	require.Equal(t, "1", eval(2), "same version: written")
	require.Equal(t, out[2]["doc"], stored())
	require.Equal(t, "1", eval(3), "newer version: written")
	require.Equal(t, "0", eval(4), "version 0 (a config without version) loses")
	require.Equal(t, out[3]["doc"], stored())

	// What cannot be read as a versioned document is replaced.
	for _, cached := range []string{"not json", `{"jwt_secret":"x"}`, `["array"]`, `{"version":"abc"}`} {
		cli("SET", key, cached)
		require.Equal(t, "1", eval(4), cached)
		require.Equal(t, out[4]["doc"], stored())
	}

	// Versions up to 2^53-1 compare exactly.
	require.Equal(t, "1", eval(5))
	require.Equal(t, "0", eval(6))
	require.Contains(t, stored(), `"version":9007199254740991}`)
}

// The tenant-manager writes the same key through its own copy of the
// script; both must be byte-identical.
func TestConfigCacheScriptMatchesTenantManager(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "tenant-manager", "internal", "provision", "provision.go"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)const ConfigCacheScript = `(.*?)`").FindSubmatch(src)
	require.NotNil(t, m, "ConfigCacheScript not found in the tenant-manager")
	out := lua(t, []any{map[string]any{"kind": "cfgcache", "cfg": map[string]any{"project_id": "p", "function_url": "https://x/",
		"jwt_secret": "s", "version": 1}}})
	require.Equal(t, string(m[1]), out[0]["script"])
}

// The gateway's control script (pause and rate limit), run by a real Redis
// the way the plugin runs it: EVALSHA under the SHA1 the plugin computes.
func TestControlScriptOnRedis(t *testing.T) {
	out := lua(t, []any{
		map[string]any{"kind": "control", "project": "acme-prod"},
		map[string]any{"kind": "control", "project": "other-proj"},
		map[string]any{"kind": "control", "project": "third-proj"},
	})
	cli := redisServer(t)
	script, sha := out[0]["script"].(string), out[0]["sha"].(string)
	require.Equal(t, sha, cli("SCRIPT", "LOAD", script), "the plugin's SHA1 is Redis's")
	run := func(i int, docPaused, rps, burst string) string {
		return cli("EVALSHA", sha, "2", out[i]["ctl_key"].(string), out[i]["bucket_key"].(string), docPaused, rps, burst)
	}
	require.Equal(t, "project:ctl:{acme-prod}", out[0]["ctl_key"])
	require.Equal(t, "project:rl:{acme-prod}", out[0]["bucket_key"])
	ctl, rl := out[0]["ctl_key"].(string), out[0]["bucket_key"].(string)

	// The hash's limit wins over the defaults: a burst of 3, then refused
	// with Retry-After 1. Two callers (tasks) draw on the same bucket.
	cli("HSET", ctl, "paused", "0", "rps", "1", "burst", "3")
	require.Equal(t, "0\n1\n2\n0\n1", run(0, "0", "100", "200"))
	require.Equal(t, "0\n1\n1\n0\n1", run(0, "0", "100", "200"))
	require.Equal(t, "0\n1\n0\n0\n1", run(0, "0", "100", "200"))
	require.Equal(t, "0\n0\n0\n1\n1", run(0, "0", "100", "200"))
	pttl, err := strconv.Atoi(cli("PTTL", rl))
	require.NoError(t, err)
	require.True(t, pttl > 0 && pttl <= 4000, "bucket expires once full again: %d", pttl)

	// Paused: refused before a token is taken.
	cli("HSET", ctl, "paused", "1")
	before := cli("HGET", rl, "tokens")
	require.Equal(t, "1\n0\n0\n0\n0", run(0, "0", "100", "200"))
	require.Equal(t, before, cli("HGET", rl, "tokens"))

	// Without a hash: the config document's paused flag and the defaults
	// given; rps or burst 0 = no limit and no bucket.
	other := out[1]["bucket_key"].(string)
	require.Equal(t, "1\n0\n0\n0\n0", run(1, "1", "5", "10"))
	require.Equal(t, "0\n1\n9\n0\n5", run(1, "0", "5", "10"))
	require.Equal(t, "0\n1\n-1\n0\n0", run(2, "0", "0", "10"))
	require.Equal(t, "0", cli("EXISTS", out[2]["bucket_key"].(string)))

	// Tokens come back with Redis's clock: one a second, so the second call
	// is refused even when starting the client is slow on a loaded machine.
	cli("DEL", other)
	cli("HSET", out[1]["ctl_key"].(string), "paused", "0", "rps", "1", "burst", "1")
	require.Equal(t, "0\n1\n0\n0\n1", run(1, "0", "5", "10"))
	require.Equal(t, "0\n0\n0\n1\n1", run(1, "0", "5", "10"))
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, "0\n1\n0\n0\n1", run(1, "0", "5", "10"))
}
