package api

import (
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// UsageReader returns a project's request count per period from start to
// end (one entry per period, zero where there was no traffic).
type UsageReader interface {
	Requests(ctx context.Context, projectID string, start, end time.Time, period time.Duration) ([]int64, error)
}

// usageTimeout bounds one usage query, retries included, so a slow
// CloudWatch answers 503 rather than holding the request.
const usageTimeout = 20 * time.Second

// usageRetention is how far back CloudWatch keeps the hourly datapoints
// (455 days); a month that began earlier can no longer be counted whole.
const usageRetention = 455 * 24 * time.Hour

// apiCountIntervals are the Management API's interval values: the span
// looked back over and the width of each bucket.
var apiCountIntervals = map[string]struct{ span, step time.Duration }{
	"15min": {15 * time.Minute, time.Minute},
	"30min": {30 * time.Minute, time.Minute},
	"1hr":   {time.Hour, time.Minute},
	"3hr":   {3 * time.Hour, 5 * time.Minute},
	"1day":  {24 * time.Hour, time.Hour},
	"3day":  {72 * time.Hour, time.Hour},
	"7day":  {7 * 24 * time.Hour, 24 * time.Hour},
}

var monthRe = regexp.MustCompile(`^\d{4}-\d{2}$`)

// mountUsage registers the usage endpoints (Supabase Management API shapes
// plus the platform's monthly count).
func (s *Server) mountUsage(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/projects/{id}/analytics/endpoints/usage.api-counts", s.handle(s.admin(withID(s.usageAPICounts))))
	mux.HandleFunc("GET /v1/projects/{id}/analytics/endpoints/usage.api-requests-count", s.handle(s.admin(withID(s.usageRequestsCount))))
	mux.HandleFunc("GET /v1/projects/{id}/platform/usage", s.handle(s.admin(withID(s.platformUsage))))
}

// apiCount is one bucket of usage.api-counts. The gateway's Requests
// metric has no route dimension, so every proxied request of the project
// counts as REST; this platform serves no auth, realtime or storage.
type apiCount struct {
	Timestamp             string `json:"timestamp"`
	TotalAuthRequests     int64  `json:"total_auth_requests"`
	TotalRealtimeRequests int64  `json:"total_realtime_requests"`
	TotalRestRequests     int64  `json:"total_rest_requests"`
	TotalStorageRequests  int64  `json:"total_storage_requests"`
}

func (s *Server) usageAPICounts(w http.ResponseWriter, r *http.Request, id string) error {
	interval := r.URL.Query().Get("interval")
	if interval == "" {
		interval = "1day"
	}
	iv, ok := apiCountIntervals[interval]
	if !ok {
		names := make([]string, 0, len(apiCountIntervals))
		for k := range apiCountIntervals {
			names = append(names, k)
		}
		sort.Slice(names, func(i, j int) bool { return apiCountIntervals[names[i]].span < apiCountIntervals[names[j]].span })
		return badRequest("invalid_interval", "interval must be one of "+strings.Join(names, ", "))
	}
	end := time.Now().UTC().Truncate(iv.step).Add(iv.step)
	start := end.Add(-iv.span)
	counts, err := s.requests(r, id, start, end, iv.step)
	if err != nil {
		return err
	}
	result := make([]apiCount, len(counts))
	for i, n := range counts {
		result[i] = apiCount{Timestamp: start.Add(time.Duration(i) * iv.step).Format(time.RFC3339), TotalRestRequests: n}
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
	return nil
}

// usageRequestsCount answers the project's requests in the last 24 hours
// (to the next 5-minute boundary).
func (s *Server) usageRequestsCount(w http.ResponseWriter, r *http.Request, id string) error {
	const step = 5 * time.Minute
	end := time.Now().UTC().Truncate(step).Add(step)
	counts, err := s.requests(r, id, end.Add(-24*time.Hour), end, step)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": []map[string]int64{{"count": sum(counts)}}})
	return nil
}

// platformUsage answers the project's requests in one calendar month
// (UTC), the current one by default.
func (s *Server) platformUsage(w http.ResponseWriter, r *http.Request, id string) error {
	now := time.Now().UTC()
	month := r.URL.Query().Get("month")
	if month == "" {
		month = now.Format("2006-01")
	}
	start, err := time.Parse("2006-01", month)
	if err != nil || !monthRe.MatchString(month) {
		return badRequest("invalid_month", "month must be a calendar month as YYYY-MM, e.g. "+now.Format("2006-01"))
	}
	if start.After(now) {
		return badRequest("invalid_month", "month "+month+" has not begun yet")
	}
	if now.Sub(start) > usageRetention {
		return badRequest("invalid_month", "month "+month+" is older than CloudWatch keeps request metrics (15 months)")
	}
	counts, err := s.requests(r, id, start, start.AddDate(0, 1, 0), 24*time.Hour)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"project_ref": id, "month": month, "requests": sum(counts)})
	return nil
}

// requests checks the project exists and reads its counts; a CloudWatch
// failure is a 503 (retry later), its cause only logged.
func (s *Server) requests(r *http.Request, id string, start, end time.Time, step time.Duration) ([]int64, error) {
	if _, err := s.Service.Store.GetProject(r.Context(), id); err != nil {
		return nil, err
	}
	if s.Usage == nil {
		return nil, unavailable("metrics_unavailable", "request metrics are not configured on this tenant-manager")
	}
	ctx, cancel := context.WithTimeout(r.Context(), usageTimeout)
	defer cancel()
	counts, err := s.Usage.Requests(ctx, id, start, end, step)
	if err != nil {
		s.Log.Error("reading request metrics failed", "project_id", id, "error", err.Error())
		return nil, unavailable("metrics_unavailable", "the project's request metrics could not be read from CloudWatch now; retry later")
	}
	return counts, nil
}

func sum(xs []int64) int64 {
	var n int64
	for _, x := range xs {
		n += x
	}
	return n
}
