package app

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
)

const (
	edgeImageA = "123456789012.dkr.ecr.us-east-1.amazonaws.com/functions-runtime:a"
	edgeImageB = "123456789012.dkr.ecr.us-east-1.amazonaws.com/functions-runtime:b"
)

func withEdgeImage(image string, memory int) option {
	return func(c *config.Config) { c.Functions.ImageURI, c.Functions.MemoryMiB = image, memory }
}

// TestFleetReconcileEdgeFunctions: a restart with a new functions image
// and memory converges every functions-{ref} (a paused project's stays at
// reserved concurrency 0), makes none for a project without one, counts
// them in the run, and makes a missing one again only for a project with
// functions, storing and publishing its new URL.
func TestFleetReconcileEdgeFunctions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newTM(t, withFunctions(t, nil), withEdgeImage(edgeImageA, 256), withEdgeConcurrency(2))
	for _, id := range []string{"efleet-1", "efleet-2", "efleet-3"} {
		status, body := a.create(id)
		require.Equal(t, http.StatusCreated, status, body)
	}
	a.deployHello("efleet-1")
	a.deployHello("efleet-2")
	status, body := a.do("POST", "/v1/projects/efleet-2/pause", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	bucket := a.cfg.Functions.Bucket

	before := time.Now()
	b := newTM(t, sameDB(a), withFunctions(t, nil), withEdgeImage(edgeImageB, 1024), withEdgeConcurrency(2),
		func(c *config.Config) { c.Functions.Bucket = bucket })
	st := b.waitRunAfter(before)
	run := st["last_run"].(map[string]any)
	require.Equal(t, "completed", run["outcome"], "%v", st)
	// Three PostgREST functions and two functions Lambdas.
	require.EqualValues(t, 5, run["checked"], "%v", run)
	require.EqualValues(t, 2, run["updated"], "%v", run)
	for _, id := range []string{"efleet-1", "efleet-2"} {
		fn, err := b.functionsLambda(id)
		require.NoError(t, err)
		require.Equal(t, edgeImageB, aws.ToString(fn.Code.ImageUri), id)
		require.EqualValues(t, 1024, aws.ToInt32(fn.Configuration.MemorySize), id)
		require.Equal(t, id, fn.Configuration.Environment.Variables["PROJECT_ID"])
	}
	require.EqualValues(t, 0, aws.ToInt32(b.edgeConcurrency("efleet-2")), "paused: kept throttled")
	require.NotNil(t, b.edgeConcurrency("efleet-2"))
	require.EqualValues(t, 2, aws.ToInt32(b.edgeConcurrency("efleet-1")))
	_, err := b.functionsLambda("efleet-3")
	require.Error(t, err, "no functions Lambda is made for a project that never deployed one")

	t.Run("a missing functions Lambda is made again only with functions", func(t *testing.T) {
		old := *b.gatewayConfig("efleet-1").FunctionsURL
		_, err := b.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("functions-efleet-1")})
		require.NoError(t, err)
		status, body := b.do("DELETE", "/v1/projects/efleet-2/functions/hello", adminToken, "")
		require.Equal(t, http.StatusOK, status, "%v", body)
		_, err = b.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("functions-efleet-2")})
		require.NoError(t, err)

		since := time.Now()
		status, body = b.do("POST", "/v1/platform/reconcile", adminToken, "")
		require.Equal(t, http.StatusAccepted, status, "%v", body)
		st := b.waitRunAfter(since)
		require.Equal(t, "completed", st["last_run"].(map[string]any)["outcome"], "%v", st)
		fn, err := b.functionsLambda("efleet-1")
		require.NoError(t, err, "made again: the project has functions")
		require.Equal(t, edgeImageB, aws.ToString(fn.Code.ImageUri))
		require.EqualValues(t, 2, aws.ToInt32(b.edgeConcurrency("efleet-1")))
		u, err := b.lambda.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("functions-efleet-1")})
		require.NoError(t, err)
		cfg := b.gatewayConfig("efleet-1")
		require.Equal(t, aws.ToString(u.FunctionUrl), *cfg.FunctionsURL, "the new URL is written through")
		require.NotEqual(t, old, *cfg.FunctionsURL)
		_, err = b.functionsLambda("efleet-2")
		require.Error(t, err, "not made again: the project has no functions left")
	})
}
