package app

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/usage"
)

var usageRuns atomic.Int64

// putRequests puts gateway Requests datapoints into moto, as the stack's
// metric filters would: with the Project dimension when project is set.
func putRequests(t testing.TB, project string, at time.Time, n float64) {
	t.Helper()
	d := types.MetricDatum{MetricName: aws.String("Requests"), Timestamp: aws.Time(at), Value: aws.Float64(n), Unit: types.StandardUnitCount}
	if project != "" {
		d.Dimensions = []types.Dimension{{Name: aws.String("Project"), Value: aws.String(project)}}
	}
	_, err := testCloudWatch().PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Supabase/Gateway"), MetricData: []types.MetricDatum{d}})
	require.NoError(t, err)
}

// The numbers come from metrics put into moto (the same Requests metric
// the gateway's access log produces), not from counters of our own.
func TestUsageEndpoints(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	// moto keeps metrics for the whole test binary: under -count each run
	// has a project of its own.
	id := fmt.Sprintf("usage-proj-%d", usageRuns.Add(1))
	m.mustCreate(id)

	now := time.Now().UTC()
	recent, earlier := now.Add(-3*time.Minute), now.Add(-40*time.Minute)
	putRequests(t, id, recent, 7)
	putRequests(t, id, recent, 2)
	putRequests(t, id, earlier, 5)
	// Other projects' traffic and the all-projects series do not count.
	putRequests(t, "usage-other", recent, 100)
	putRequests(t, "", recent, 1000)
	// Mid-month of the previous month, outside every interval window.
	prev := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	putRequests(t, id, prev.Add(36*time.Hour), 40)
	putRequests(t, id, prev.Add(-time.Hour), 3) // the month before

	t.Run("usage.api-counts has the Supabase shape, one bucket per minute for 1hr", func(t *testing.T) {
		status, body := m.do("GET", "/v1/projects/"+id+"/analytics/endpoints/usage.api-counts?interval=1hr", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		result := body["result"].([]any)
		require.Len(t, result, 60)
		var total float64
		var prevTS time.Time
		for i, r := range result {
			r := r.(map[string]any)
			require.ElementsMatch(t, []string{"timestamp", "total_auth_requests", "total_realtime_requests", "total_rest_requests", "total_storage_requests"}, keys(r))
			ts, err := time.Parse(time.RFC3339, r["timestamp"].(string))
			require.NoError(t, err)
			if i > 0 {
				require.Equal(t, time.Minute, ts.Sub(prevTS))
			}
			prevTS = ts
			for _, k := range []string{"total_auth_requests", "total_realtime_requests", "total_storage_requests"} {
				require.Equal(t, 0.0, r[k], k)
			}
			n := r["total_rest_requests"].(float64)
			if !ts.After(recent) && recent.Before(ts.Add(time.Minute)) {
				require.Equal(t, 9.0, n, "the bucket of the recent datapoints")
			}
			total += n
		}
		require.Equal(t, 14.0, total)
	})

	t.Run("a shorter interval leaves older traffic out", func(t *testing.T) {
		status, body := m.do("GET", "/v1/projects/"+id+"/analytics/endpoints/usage.api-counts?interval=15min", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.Len(t, body["result"], 15)
		var total float64
		for _, r := range body["result"].([]any) {
			total += r.(map[string]any)["total_rest_requests"].(float64)
		}
		require.Equal(t, 9.0, total)
	})

	t.Run("usage.api-requests-count is the last 24 hours", func(t *testing.T) {
		status, body := m.do("GET", "/v1/projects/"+id+"/analytics/endpoints/usage.api-requests-count", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, map[string]any{"result": []any{map[string]any{"count": 14.0}}}, body)
	})

	t.Run("monthly count", func(t *testing.T) {
		status, body := m.do("GET", "/v1/projects/"+id+"/platform/usage?month="+prev.Format("2006-01"), adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, map[string]any{"project_ref": id, "month": prev.Format("2006-01"), "requests": 40.0}, body)
		status, body = m.do("GET", "/v1/projects/"+id+"/platform/usage", adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, now.Format("2006-01"), body["month"], "the current month by default")
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			path, token string
			status      int
			code        string
		}{
			{"/v1/projects/" + id + "/analytics/endpoints/usage.api-counts?interval=2hr", adminToken, 400, "invalid_interval"},
			{"/v1/projects/" + id + "/platform/usage?month=2026-13", adminToken, 400, "invalid_month"},
			{"/v1/projects/" + id + "/platform/usage?month=2026-1", adminToken, 400, "invalid_month"},
			{"/v1/projects/" + id + "/platform/usage?month=june", adminToken, 400, "invalid_month"},
			{"/v1/projects/" + id + "/platform/usage?month=" + now.AddDate(0, 2, 0).Format("2006-01"), adminToken, 400, "invalid_month"},
			{"/v1/projects/" + id + "/platform/usage?month=2001-01", adminToken, 400, "invalid_month"},
			{"/v1/projects/no-such-proj/analytics/endpoints/usage.api-counts", adminToken, 404, "not_found"},
			{"/v1/projects/no-such-proj/platform/usage", adminToken, 404, "not_found"},
			{"/v1/projects/Bad_Ref/analytics/endpoints/usage.api-requests-count", adminToken, 400, "invalid_project_id"},
			{"/v1/projects/" + id + "/analytics/endpoints/usage.api-counts", "", 401, "unauthorized"},
		} {
			status, body := m.do("GET", tc.path, tc.token, "")
			require.Equal(t, tc.status, status, "%s: %v", tc.path, body)
			require.Equal(t, tc.code, body["code"], tc.path)
		}
		_, body := m.do("GET", "/v1/projects/"+id+"/analytics/endpoints/usage.api-counts?interval=2hr", adminToken, "")
		require.Contains(t, body["error"], "interval must be one of 15min, 30min, 1hr, 3hr, 1day, 3day, 7day")
	})

	t.Run("CloudWatch unreachable is a 503 with a JSON body", func(t *testing.T) {
		real := m.app.Server.Usage
		defer func() { m.app.Server.Usage = real }()
		m.app.Server.Usage = &usage.Reader{API: unreachableCloudWatch(), Namespace: "Supabase/Gateway"}
		for _, path := range []string{"/v1/projects/" + id + "/analytics/endpoints/usage.api-counts", "/v1/projects/" + id + "/analytics/endpoints/usage.api-requests-count", "/v1/projects/" + id + "/platform/usage"} {
			status, body := m.do("GET", path, adminToken, "")
			require.Equal(t, http.StatusServiceUnavailable, status, path)
			require.Equal(t, "metrics_unavailable", body["code"], path)
			require.NotContains(t, body["error"], "127.0.0.1", "no transport detail reaches the caller")
		}
	})
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
