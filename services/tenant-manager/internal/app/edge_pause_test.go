package app

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/worker"
)

// edgeConcurrency is functions-{id}'s reserved concurrency in moto (nil:
// none).
func (m *tm) edgeConcurrency(id string) *int32 {
	m.t.Helper()
	return m.functionConcurrency("functions-" + id)
}

func (m *tm) deployHello(ref string) {
	m.t.Helper()
	code, f := m.deployParts(ref, "hello",
		meta("supabase/functions/hello/index.ts", `,"verify_jwt":false`),
		part{name: "file", filename: "supabase/functions/hello/index.ts", body: `Deno.serve(() => new Response("hi"));`})
	require.Equal(m.t, http.StatusCreated, code, "%v", f)
}

func withEdgeConcurrency(n int) option {
	return func(c *config.Config) { c.Functions.ReservedConcurrency = n }
}

// TestPauseRestoreEdgeFunctions: pause throttles functions-{ref} too and
// restore puts its configured reservation back; a failed pause puts it
// back as well; a project without functions pauses as before; a paused
// project's first deploy makes its Lambda throttled.
func TestPauseRestoreEdgeFunctions(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, nil), withEdgeConcurrency(3))
	ctx := context.Background()
	for _, id := range []string{"edgepause", "edgenone", "edgelate"} {
		status, body := m.create(id)
		require.Equal(t, http.StatusCreated, status, body)
	}
	m.deployHello("edgepause")
	require.EqualValues(t, 3, aws.ToInt32(m.edgeConcurrency("edgepause")))

	status, body := m.do("POST", "/v1/projects/edgepause/pause", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	require.NotNil(t, m.edgeConcurrency("edgepause"))
	require.EqualValues(t, 0, aws.ToInt32(m.edgeConcurrency("edgepause")), "paused: functions-{ref} throttled")
	status, body = m.do("POST", "/v1/projects/edgepause/restore", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	require.EqualValues(t, 3, aws.ToInt32(m.edgeConcurrency("edgepause")), "restored: the configured reservation")

	t.Run("a failed pause puts the functions Lambda back", func(t *testing.T) {
		p, err := m.app.Service.Store.GetProject(ctx, "edgepause")
		require.NoError(t, err)
		orig := m.app.Service.Workers[*p.WorkerID]
		m.app.Service.Workers[*p.WorkerID] = failingLogin{orig.(*worker.Worker)}
		status, body := m.do("POST", "/v1/projects/edgepause/pause", adminToken, "")
		m.app.Service.Workers[*p.WorkerID] = orig
		require.Equal(t, http.StatusBadGateway, status, body)
		require.Equal(t, "database", body["step"])
		require.EqualValues(t, 3, aws.ToInt32(m.edgeConcurrency("edgepause")))
	})

	t.Run("no functions Lambda: pause and restore as before", func(t *testing.T) {
		status, body := m.do("POST", "/v1/projects/edgenone/pause", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		status, body = m.do("POST", "/v1/projects/edgenone/restore", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		_, err := m.functionsLambda("edgenone")
		require.Error(t, err, "pause and restore make no functions Lambda")
	})

	t.Run("a paused project's first deploy makes it throttled", func(t *testing.T) {
		status, body := m.do("POST", "/v1/projects/edgelate/pause", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		m.deployHello("edgelate")
		require.NotNil(t, m.edgeConcurrency("edgelate"))
		require.EqualValues(t, 0, aws.ToInt32(m.edgeConcurrency("edgelate")))
		status, body = m.do("POST", "/v1/projects/edgelate/restore", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.EqualValues(t, 3, aws.ToInt32(m.edgeConcurrency("edgelate")))
	})
}
