package fetch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/callerid"
)

// server is a tenant-manager that answers /project/p1x/doc with handler.
func server(t *testing.T, calls *atomic.Int32, handler http.HandlerFunc) Project {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/project/p1x/doc" || r.Method != http.MethodGet || r.Header.Get(callerid.Header) != "signed" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return Project{Client: srv.Client(), BaseURL: srv.URL + "/", ProjectID: "p1x", Identity: func(context.Context) (string, error) { return "signed", nil }}
}

func answer(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}
}

// Only the tenant-manager's own error message is quoted; which failures
// end the retries is the status's call.
func TestGet(t *testing.T) {
	for name, tc := range map[string]struct {
		code      int
		body      string
		want      string
		permanent bool
	}{
		"403 quotes the error and code":            {403, `{"error":"not yours","code":"forbidden"}`, "HTTP 403 (forbidden: not yours)", true},
		"404 without a code":                       {404, `{"error":"no such project"}`, "HTTP 404 (no such project)", true},
		"a body that is not an error is not shown": {400, `db_uri=postgres://u:leaked@h/d`, "HTTP 400", true},
		"500 is transient":                         {500, `oops`, "HTTP 500", false},
		"429 is transient":                         {429, `{"error":"slow down","code":"rate_limited"}`, "HTTP 429 (rate_limited: slow down)", false},
	} {
		var calls atomic.Int32
		_, err := server(t, &calls, answer(tc.code, tc.body)).Get(context.Background(), "doc", 1<<10)
		require.ErrorContains(t, err, tc.want, name)
		require.NotContains(t, err.Error(), "leaked", name)
		require.NotContains(t, err.Error(), "oops", name)
		require.Equal(t, tc.permanent, IsPermanent(err), name)
	}
}

func TestGetQuotesAtMost200Characters(t *testing.T) {
	var calls atomic.Int32
	msg := strings.Repeat("é", 300)
	_, err := server(t, &calls, answer(403, `{"error":"`+msg+`","code":"forbidden"}`)).Get(context.Background(), "doc", 1<<20)
	require.ErrorContains(t, err, "(forbidden: "+strings.Repeat("é", 200)+")")
}

func TestGetReadsAtMostMaxBytes(t *testing.T) {
	var calls atomic.Int32
	body, err := server(t, &calls, answer(200, `{"a":"0123456789"}`)).Get(context.Background(), "doc", 5)
	require.NoError(t, err)
	require.Equal(t, `{"a":`, string(body))
}

func TestGetIdentityFailureIsTransient(t *testing.T) {
	var calls atomic.Int32
	p := server(t, &calls, answer(200, `{}`))
	p.Identity = func(context.Context) (string, error) { return "", errors.New("no credentials yet") }
	_, err := p.Get(context.Background(), "doc", 1<<10)
	require.EqualError(t, err, "no credentials yet")
	require.False(t, IsPermanent(err))
	require.Zero(t, calls.Load(), "nothing is sent unsigned")
}

// Each attempt gets its own deadline, and transient failures are waited
// out, longer each time.
func TestRetryRecovers(t *testing.T) {
	var at []time.Time
	v, err := Retry(context.Background(), func(ctx context.Context) (string, error) {
		at = append(at, time.Now())
		deadline, ok := ctx.Deadline()
		require.True(t, ok)
		require.WithinDuration(t, time.Now().Add(AttemptTimeout), deadline, 100*time.Millisecond)
		if len(at) < 3 {
			return "", errors.New("HTTP 503")
		}
		return "ok", nil
	})
	require.NoError(t, err)
	require.Equal(t, "ok", v)
	require.Len(t, at, 3)
	require.GreaterOrEqual(t, at[1].Sub(at[0]), firstDelay)
	require.GreaterOrEqual(t, at[2].Sub(at[1]), 2*firstDelay)
}

func TestRetryStopsAtAPermanentFailure(t *testing.T) {
	n := 0
	_, err := Retry(context.Background(), func(context.Context) (int, error) {
		n++
		return 7, fmt.Errorf("wrapped: %w", Permanent(errors.New("bad data")))
	})
	require.EqualError(t, err, "wrapped: bad data")
	require.Equal(t, 1, n)
}

func TestRetryGivesUpWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	var n atomic.Int32
	v, err := Retry(ctx, func(context.Context) (int, error) { n.Add(1); return 7, errors.New("down") })
	require.Zero(t, v)
	require.ErrorContains(t, err, "gave up after")
	require.ErrorContains(t, err, "attempts in ")
	require.ErrorContains(t, err, ": down")
	require.Greater(t, n.Load(), int32(1))
}

// ForLambda signs with the given provider: the header carries the
// caller-identity payload for its key, and the request times out.
func TestForLambdaSigns(t *testing.T) {
	var calls atomic.Int32
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		got = r.Header.Get(callerid.Header)
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	p := ForLambda(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "never-sent-secret"}, nil
	}), srv.URL, "https://sts.us-east-1.amazonaws.com", "us-east-1", "p1x")
	require.Equal(t, AttemptTimeout, p.Client.Timeout)
	_, err := p.Get(context.Background(), "doc", 1<<10)
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(got)
	require.NoError(t, err)
	var payload callerid.Payload
	require.NoError(t, json.Unmarshal(raw, &payload))
	require.Contains(t, payload.Headers["Authorization"], "Credential=AKIDEXAMPLE/")
	require.Equal(t, callerid.Audience, payload.Headers[callerid.AudienceHeader])
	require.NotContains(t, string(raw), "never-sent-secret")
}
