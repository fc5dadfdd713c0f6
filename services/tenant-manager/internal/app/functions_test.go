package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/bundles"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
)

var (
	functionsRoleOnce sync.Once
	functionsRoleARN  string
	functionsBuckets  atomic.Int64
)

func s3Client() *s3.Client {
	return s3.NewFromConfig(env.aws, func(o *s3.Options) { o.UsePathStyle = true })
}

// withFunctions enables edge functions with a fresh bucket in moto; vars
// sets further FUNCTIONS_* variables.
func withFunctions(t testing.TB, vars map[string]string) option {
	t.Helper()
	functionsRoleOnce.Do(func() {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
		out, err := iam.NewFromConfig(env.aws).CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("functions-lambda-role"), AssumeRolePolicyDocument: aws.String(trust)})
		require.NoError(t, err)
		functionsRoleARN = *out.Role.Arn
	})
	bucket := fmt.Sprintf("functions-bundles-%d", functionsBuckets.Add(1))
	_, err := s3Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	return func(c *config.Config) {
		all := map[string]string{"FUNCTIONS_PROJECT_URL": "https://{ref}.supabase.example.com"}
		for k, v := range vars {
			all[k] = v
		}
		c.Functions = config.Functions{Bucket: bucket, ImageURI: "123456789012.dkr.ecr.us-east-1.amazonaws.com/functions-runtime:test",
			RoleARN: functionsRoleARN, MemoryMiB: 256, TimeoutSeconds: 60, Env: func(k string) string { return all[k] }}
	}
}

// part is one multipart part: a form name, an optional file name, content.
type part struct{ name, filename, body string }

func multipartBody(t testing.TB, parts ...part) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.filename != "" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.filename))
			h.Set("Content-Type", "application/octet-stream")
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
		}
		w, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, _ = w.Write([]byte(p.body))
	}
	require.NoError(t, mw.Close())
	return buf.String(), mw.FormDataContentType()
}

// call sends an admin request to the public listener; the answer may be
// empty or of any type.
func (m *tm) call(method, path, body string) (int, []byte) {
	m.t.Helper()
	status, _, data := m.send(m.srv, method, path, adminToken, body)
	return status, data
}

func (m *tm) deployRaw(path, contentType, body string) (int, map[string]any) {
	m.t.Helper()
	req, err := http.NewRequest("POST", m.srv.URL+path, strings.NewReader(body))
	require.NoError(m.t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(m.t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	require.NoError(m.t, json.Unmarshal(data, &out), string(data))
	return resp.StatusCode, out
}

func (m *tm) deployParts(ref, slug string, parts ...part) (int, map[string]any) {
	m.t.Helper()
	body, ct := multipartBody(m.t, parts...)
	return m.deployRaw("/v1/projects/"+ref+"/functions/deploy?slug="+slug, ct, body)
}

func meta(entry string, extra ...string) part {
	return part{name: "metadata", body: `{"entrypoint_path":"` + entry + `"` + strings.Join(extra, "") + `}`}
}

// runtimeConfig reads /functions-config as the project's functions Lambda.
func (m *tm) runtimeConfig(id string) provision.RuntimeConfig {
	m.t.Helper()
	req, err := http.NewRequest("GET", m.isrv.URL+"/project/"+id+"/functions-config", nil)
	require.NoError(m.t, err)
	req.Header.Set("X-Caller-Identity", identity(m.t, functionsRoleARN, "functions-"+id, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(m.t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Equal(m.t, http.StatusOK, resp.StatusCode, string(data))
	var c provision.RuntimeConfig
	require.NoError(m.t, json.Unmarshal(data, &c))
	return c
}

func fetchURL(t testing.TB, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return b
}

func (m *tm) bucketKeys(prefix string) []string {
	m.t.Helper()
	out, err := s3Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(m.cfg.Functions.Bucket), Prefix: aws.String(prefix)})
	require.NoError(m.t, err)
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys
}

func (m *tm) functionsLambda(id string) (*lambda.GetFunctionOutput, error) {
	return m.lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("functions-" + id)})
}

// TestFunctionDeployVersions deploys a function three times (named parts
// as the Supabase CLI sends them, then a single unnamed part), checks the
// versions, what the runtime is served, the kept versions, a failed deploy
// and the deletion of function and project.
func TestFunctionDeployVersions(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, map[string]string{"FUNCTIONS_KEEP_VERSIONS": "2"}))
	ctx := context.Background()
	code, _ := m.create("fnver")
	require.Equal(t, http.StatusCreated, code)
	before := m.gatewayConfig("fnver")
	require.Nil(t, before.FunctionsURL)
	_, err := m.functionsLambda("fnver")
	require.Error(t, err, "no functions Lambda before the first deploy")

	// v1: files named by their paths, as the Supabase CLI sends them.
	code, f := m.deployParts("fnver", "hello",
		meta("supabase/functions/hello/index.ts", `,"name":"Hello","verify_jwt":false`),
		part{name: "file", filename: "supabase/functions/hello/index.ts", body: `import { msg } from "./msg.ts"; Deno.serve(() => new Response(msg));`},
		part{name: "file", filename: "supabase/functions/hello/msg.ts", body: `export const msg = "v1";`})
	require.Equal(t, http.StatusCreated, code, "%v", f)
	require.Equal(t, "hello", f["slug"])
	require.Equal(t, "Hello", f["name"])
	require.Equal(t, "ACTIVE", f["status"])
	require.EqualValues(t, 1, f["version"])
	require.Equal(t, false, f["verify_jwt"])
	require.Equal(t, "supabase/functions/hello/index.ts", f["entrypoint_path"])
	id := f["id"]

	fn, err := m.functionsLambda("fnver")
	require.NoError(t, err, "the first deploy creates functions-{ref}")
	require.Equal(t, "functions-fnver", *fn.Configuration.FunctionName)
	require.Equal(t, "fnver", fn.Configuration.Environment.Variables["PROJECT_ID"])
	require.EqualValues(t, 256, *fn.Configuration.MemorySize)
	u, err := m.lambda.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("functions-fnver")})
	require.NoError(t, err)
	require.Equal(t, "AWS_IAM", string(u.AuthType))
	after := m.gatewayConfig("fnver")
	require.NotNil(t, after.FunctionsURL)
	require.Equal(t, *u.FunctionUrl, *after.FunctionsURL)
	require.Greater(t, after.Version, before.Version, "the gateway document's version counts up with functions_url")

	rc := m.runtimeConfig("fnver")
	require.Len(t, rc.Functions, 1)
	require.Equal(t, 1, rc.Functions[0].Version)
	bundle := fetchURL(t, rc.Functions[0].BundleURL)
	sum := sha256.Sum256(bundle)
	require.Equal(t, hex.EncodeToString(sum[:]), rc.Functions[0].SHA256)
	require.Equal(t, "https://fnver.supabase.example.com", rc.Env["SUPABASE_URL"])
	require.True(t, strings.HasPrefix(rc.Env["SUPABASE_ANON_KEY"], "sb_publishable_"), "the runtime's publishable key")
	require.True(t, strings.HasPrefix(rc.Env["SUPABASE_SERVICE_ROLE_KEY"], "sb_secret_"), "the runtime's secret key")
	generation := m.edgeGeneration("fnver")

	// v2: a single unnamed part is the entrypoint (supabase-management-js).
	code, f = m.deployParts("fnver", "hello", meta("index.ts"), part{name: "file", body: `Deno.serve(() => new Response("v2"));`})
	require.Equal(t, http.StatusCreated, code, "%v", f)
	require.EqualValues(t, 2, f["version"])
	require.Equal(t, id, f["id"], "a new version keeps the function's id")
	require.Equal(t, true, f["verify_jwt"], "verify_jwt defaults to true")
	require.NotEqual(t, generation, m.edgeGeneration("fnver"), "a deploy recycles the functions Lambda")
	code, body := m.call("GET", "/v1/projects/fnver/functions/hello", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"version":2`)
	req, _ := http.NewRequest("GET", m.srv.URL+"/v1/projects/fnver/functions/hello/body", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	src, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, `Deno.serve(() => new Response("v2"));`, string(src))

	// v3: with FUNCTIONS_KEEP_VERSIONS=2, v1's bundle goes.
	v1Key := m.bundleKey("fnver", "hello", 1)
	code, f = m.deployParts("fnver", "hello", meta("index.ts"), part{name: "file", body: `Deno.serve(() => new Response("v3"));`})
	require.Equal(t, http.StatusCreated, code, "%v", f)
	require.EqualValues(t, 3, f["version"])
	require.NotContains(t, m.bucketKeys("projects/fnver/"), v1Key)
	require.Len(t, m.bucketKeys("projects/fnver/"), 2)

	// A failed deploy (the bucket refuses the bundle) leaves v3 serving.
	store := m.app.Service.Edge.Storage.(*bundles.Store)
	store.Bucket = "no-such-bucket"
	code, f = m.deployParts("fnver", "hello", meta("index.ts"), part{name: "file", body: `Deno.serve(() => new Response("v4"));`})
	store.Bucket = m.cfg.Functions.Bucket
	require.Equal(t, http.StatusBadGateway, code, "%v", f)
	require.Equal(t, "storage", f["step"])
	rc = m.runtimeConfig("fnver")
	require.Equal(t, 3, rc.Functions[0].Version)
	code, body = m.call("GET", "/v1/projects/fnver/functions/hello", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"version":3`)

	// Listing, deletion of the function, then of the project.
	code, body = m.call("GET", "/v1/projects/fnver/functions", "")
	require.Equal(t, http.StatusOK, code)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 1)
	code, _ = m.call("DELETE", "/v1/projects/fnver/functions/hello", "")
	require.Equal(t, http.StatusOK, code)
	code, _ = m.call("GET", "/v1/projects/fnver/functions/hello", "")
	require.Equal(t, http.StatusNotFound, code)
	require.Empty(t, m.bucketKeys("projects/fnver/"))
	require.Empty(t, m.runtimeConfig("fnver").Functions)

	code, _ = m.deployParts("fnver", "again", meta("index.ts"), part{name: "file", body: `Deno.serve(() => new Response("x"));`})
	require.Equal(t, http.StatusCreated, code)
	code, _ = m.do("DELETE", "/project/fnver", adminToken, "")
	require.Equal(t, http.StatusNoContent, code)
	_, err = m.functionsLambda("fnver")
	require.True(t, lambdas.IsNotFound(err), "functions-{ref} is deleted with the project: %v", err)
	require.Empty(t, m.bucketKeys("projects/fnver/"))
}

func (m *tm) edgeGeneration(id string) string {
	m.t.Helper()
	fn, err := m.functionsLambda(id)
	require.NoError(m.t, err)
	return fn.Configuration.Environment.Variables["CONFIG_GENERATION"]
}

func (m *tm) bundleKey(id, slug string, version int) string {
	m.t.Helper()
	var key string
	require.NoError(m.t, m.app.Service.Store.Pool.QueryRow(context.Background(),
		`SELECT bundle_key FROM edge_function_versions WHERE project_id = $1 AND slug = $2 AND version = $3`, id, slug, version).Scan(&key))
	return key
}

// failingRuntime creates the Lambda, then reports a failure, as a create
// that timed out waiting for Active would.
type failingRuntime struct {
	provision.EdgeRuntime
}

func (f failingRuntime) Ensure(ctx context.Context, projectID string) (lambdas.Function, error) {
	fn, err := f.EdgeRuntime.Ensure(ctx, projectID)
	if err != nil {
		return fn, err
	}
	return fn, errors.New("the function did not become Active")
}

// TestFunctionFirstDeployFailureRemovesLambda: a first deploy whose Lambda
// step fails removes the Lambda and the bundle, and records nothing.
func TestFunctionFirstDeployFailureRemovesLambda(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, nil))
	code, _ := m.create("fnfail")
	require.Equal(t, http.StatusCreated, code)
	real := m.app.Service.Edge.Runtime
	m.app.Service.Edge.Runtime = failingRuntime{real}
	code, f := m.deployParts("fnfail", "hello", meta("index.ts"), part{name: "file", body: `Deno.serve(() => new Response("x"));`})
	require.Equal(t, http.StatusBadGateway, code, "%v", f)
	require.Equal(t, "lambda", f["step"])
	_, err := m.functionsLambda("fnfail")
	require.True(t, lambdas.IsNotFound(err), "the compensation deletes functions-{ref}: %v", err)
	require.Empty(t, m.bucketKeys("projects/fnfail/"))
	code, _ = m.call("GET", "/v1/projects/fnfail/functions/hello", "")
	require.Equal(t, http.StatusNotFound, code)
	require.Nil(t, m.gatewayConfig("fnfail").FunctionsURL)

	m.app.Service.Edge.Runtime = real
	code, f = m.deployParts("fnfail", "hello", meta("index.ts"), part{name: "file", body: `Deno.serve(() => new Response("x"));`})
	require.Equal(t, http.StatusCreated, code, "%v", f)
	require.EqualValues(t, 1, f["version"])
}

// TestFunctionSecrets: values are sealed (project and name bound), listed
// as SHA-256 digests only, SUPABASE_ names are refused, and the runtime
// gets the values.
func TestFunctionSecrets(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, nil))
	ctx := context.Background()
	for _, id := range []string{"seca", "secb"} {
		code, _ := m.create(id)
		require.Equal(t, http.StatusCreated, code)
	}
	code, body := m.call("POST", "/v1/projects/seca/secrets", `[{"name":"MY_SECRET","value":"value-of-a"},{"name":"OTHER","value":"o"}]`)
	require.Equal(t, http.StatusCreated, code, string(body))
	code, body = m.call("POST", "/v1/projects/secb/secrets", `[{"name":"MY_SECRET","value":"value-of-b"}]`)
	require.Equal(t, http.StatusCreated, code, string(body))

	code, body = m.call("GET", "/v1/projects/seca/secrets", "")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(body), "value-of-a")
	var list []struct{ Name, Value string }
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 2)
	sum := sha256.Sum256([]byte("value-of-a"))
	require.Equal(t, "MY_SECRET", list[0].Name)
	require.Equal(t, hex.EncodeToString(sum[:]), list[0].Value)

	// Sealed: not in the row in clear, and bound to project and name.
	var sealed []byte
	require.NoError(t, m.app.Service.Store.Pool.QueryRow(ctx, `SELECT value FROM edge_function_secrets WHERE project_id = 'seca' AND name = 'MY_SECRET'`).Scan(&sealed))
	require.False(t, bytes.Contains(sealed, []byte("value-of-a")))
	box := m.app.Service.Box
	v, err := box.Open("seca", "edge_function_secrets:MY_SECRET", sealed)
	require.NoError(t, err)
	require.Equal(t, "value-of-a", string(v))
	_, err = box.Open("secb", "edge_function_secrets:MY_SECRET", sealed)
	require.Error(t, err, "another project's AAD does not open it")
	_, err = box.Open("seca", "edge_function_secrets:OTHER", sealed)
	require.Error(t, err, "another name's AAD does not open it")

	// The runtime of each project gets its own value (no functions Lambda
	// yet: the configuration is served all the same).
	require.Equal(t, "value-of-a", m.runtimeConfig("seca").Env["MY_SECRET"])
	require.Equal(t, "value-of-b", m.runtimeConfig("secb").Env["MY_SECRET"])

	for _, bad := range []struct{ body, code string }{
		{`[{"name":"SUPABASE_URL","value":"x"}]`, "reserved_name"},
		{`[{"name":"supabase_anything","value":"x"}]`, "reserved_name"},
		{`[{"name":"1BAD","value":"x"}]`, "invalid_name"},
		{`[{"name":"BAD-NAME","value":"x"}]`, "invalid_name"},
		{`[{"name":"","value":"x"}]`, "invalid_name"},
		{`[{"name":"A","value":"x"},{"name":"A","value":"y"}]`, "duplicate_name"},
		{`[{"name":"A","value":"` + strings.Repeat("x", 24577) + `"}]`, "invalid_value"},
		{`[{"name":"A","value":"a\u0000b"}]`, "invalid_value"},
		{`[]`, "invalid_body"},
		{`{"name":"A","value":"x"}`, "invalid_body"},
		{`[{"name":"A","value":1}]`, "invalid_field"},
		{`[{"name":"A","value":"x","extra":1}]`, "unknown_field"},
		{`not json`, "invalid_json"},
	} {
		code, body := m.call("POST", "/v1/projects/seca/secrets", bad.body)
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", truncateForLog(bad.body), body)
		require.Contains(t, string(body), `"code":"`+bad.code+`"`, truncateForLog(bad.body))
		require.NotContains(t, string(body), `"value":"x"`)
	}
	code, _ = m.call("POST", "/v1/projects/nosuch/secrets", `[{"name":"A","value":"x"}]`)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = m.call("DELETE", "/v1/projects/seca/secrets", `["SUPABASE_URL"]`)
	require.Equal(t, http.StatusBadRequest, code)

	code, _ = m.call("DELETE", "/v1/projects/seca/secrets", `["MY_SECRET","NOT_THERE"]`)
	require.Equal(t, http.StatusOK, code)
	code, body = m.call("GET", "/v1/projects/seca/secrets", "")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(body), "MY_SECRET")
	require.NotContains(t, m.runtimeConfig("seca").Env, "MY_SECRET")
	require.Equal(t, "value-of-b", m.runtimeConfig("secb").Env["MY_SECRET"])
}

func truncateForLog(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// TestFunctionBadInput: every malformed deploy or request is a 4xx naming
// the problem, and nothing is stored.
func TestFunctionBadInput(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, map[string]string{"FUNCTIONS_MAX_BUNDLE_BYTES": "2048"}))
	code, _ := m.create("fnbad")
	require.Equal(t, http.StatusCreated, code)
	src := `Deno.serve(() => new Response("x"));`
	good := part{name: "file", filename: "index.ts", body: src}
	cases := []struct {
		name, slug string
		parts      []part
		status     int
		code       string
	}{
		{"no slug", "", []part{meta("index.ts"), good}, 400, "invalid_slug"},
		{"bad slug", "1abc", []part{meta("index.ts"), good}, 400, "invalid_slug"},
		{"slug with dot", "a.b", []part{meta("index.ts"), good}, 400, "invalid_slug"},
		{"no metadata", "f", []part{good}, 400, "invalid_metadata"},
		{"two metadata", "f", []part{meta("index.ts"), meta("index.ts"), good}, 400, "invalid_metadata"},
		{"metadata not JSON", "f", []part{{name: "metadata", body: "{"}, good}, 400, "invalid_metadata"},
		{"metadata unknown field", "f", []part{meta("index.ts", `,"nope":1`), good}, 400, "invalid_metadata"},
		{"metadata wrong type", "f", []part{meta("index.ts", `,"verify_jwt":"yes"`), good}, 400, "invalid_metadata"},
		{"no entrypoint", "f", []part{{name: "metadata", body: `{}`}, good}, 400, "invalid_metadata"},
		{"entrypoint missing", "f", []part{meta("main.ts"), good}, 400, "invalid_entrypoint"},
		{"entrypoint not a module", "f", []part{meta("index.txt"), {name: "file", filename: "index.txt", body: src}}, 400, "invalid_entrypoint"},
		{"traversal in file", "f", []part{meta("index.ts"), good, {name: "file", filename: "../../etc/x.ts", body: "x"}}, 400, "invalid_path"},
		{"traversal in entrypoint", "f", []part{meta("../index.ts"), good}, 400, "invalid_path"},
		{"backslash", "f", []part{meta("index.ts"), good, {name: "file", filename: `a\b.ts`, body: "x"}}, 400, "invalid_path"},
		{"duplicate file", "f", []part{meta("index.ts"), good, good}, 400, "duplicate_file"},
		{"two unnamed", "f", []part{meta("index.ts"), {name: "file", body: src}, {name: "file", body: src}}, 400, "ambiguous_files"},
		{"unnamed and named entrypoint", "f", []part{meta("index.ts"), good, {name: "file", body: src}}, 400, "ambiguous_files"},
		{"no files", "f", []part{meta("index.ts")}, 400, "no_files"},
		{"unknown part", "f", []part{meta("index.ts"), good, {name: "other", body: "x"}}, 400, "invalid_multipart"},
		{"import map missing", "f", []part{meta("index.ts", `,"import_map_path":"deno.json"`), good}, 400, "invalid_import_map"},
		{"too large", "f", []part{meta("index.ts"), {name: "file", filename: "index.ts", body: strings.Repeat("x", 4096)}}, 413, "payload_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := m.deployParts("fnbad", c.slug, c.parts...)
			require.Equal(t, c.status, code, "%v", out)
			require.Equal(t, c.code, out["code"], "%v", out)
		})
	}
	code, out := m.deployRaw("/v1/projects/fnbad/functions/deploy?slug=f", "application/json", `{}`)
	require.Equal(t, http.StatusUnsupportedMediaType, code, "%v", out)
	code, out = m.deployRaw("/v1/projects/fnbad/functions/deploy?slug=f", "multipart/form-data; boundary=xyz", "garbage")
	require.Equal(t, http.StatusBadRequest, code, "%v", out)
	code, out = m.deployRaw("/v1/projects/fnbad/functions/deploy?slug=f&bundleOnly=true", "multipart/form-data; boundary=xyz", "")
	require.Equal(t, http.StatusBadRequest, code, "%v", out)
	body, ct := multipartBody(t, meta("index.ts"), good)
	code, out = m.deployRaw("/v1/projects/nosuchproject/functions/deploy?slug=f", ct, body)
	require.Equal(t, http.StatusNotFound, code, "%v", out)
	code, out = m.deployRaw("/v1/projects/BAD/functions/deploy?slug=f", ct, body)
	require.Equal(t, http.StatusBadRequest, code, "%v", out)
	code, out = m.doOn(m.srv, "POST", "/v1/projects/fnbad/functions/deploy?slug=f", "", "")
	require.Equal(t, http.StatusUnauthorized, code, "%v", out)

	code, _ = m.call("GET", "/v1/projects/fnbad/functions", "")
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, m.bucketKeys("projects/fnbad/"), "no refused deploy stored a bundle")
	_, err := m.functionsLambda("fnbad")
	require.Error(t, err, "no refused deploy made the Lambda")

	for _, p := range []string{"/v1/projects/fnbad/functions/nosuch", "/v1/projects/fnbad/functions/nosuch/body"} {
		code, _ := m.call("GET", p, "")
		require.Equal(t, http.StatusNotFound, code, p)
	}
	code, _ = m.call("GET", "/v1/projects/fnbad/functions/1bad", "")
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = m.call("DELETE", "/v1/projects/fnbad/functions/nosuch", "")
	require.Equal(t, http.StatusNotFound, code)
	code, _ = m.call("PATCH", "/v1/projects/fnbad/functions/nosuch", `{"name":"x"}`)
	require.Equal(t, http.StatusNotFound, code)

	// The runtime configuration: only functions-{id} of the functions role.
	for _, c := range []struct{ role, session string }{
		{env.gatewayRoleARN, "functions-fnbad"},
		{functionsRoleARN, "functions-other"},
		{env.tenantRoleARN, "postgrest-fnbad"},
	} {
		code, out := m.doOn(m.isrv, "GET", "/project/fnbad/functions-config", "", "", "X-Caller-Identity", identity(t, c.role, c.session, time.Now()))
		require.Equal(t, http.StatusForbidden, code, "%s %s: %v", c.role, c.session, out)
	}
	code, _ = m.doOn(m.isrv, "GET", "/project/fnbad/functions-config", "", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = m.doOn(m.srv, "GET", "/project/fnbad/functions-config", "", "")
	require.Equal(t, http.StatusNotFound, code, "not served on the public listener")
}

// TestFunctionsDisabled: without FUNCTIONS_BUCKET the endpoints say so.
func TestFunctionsDisabled(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	code, _ := m.create("fnoff")
	require.Equal(t, http.StatusCreated, code)
	body, ct := multipartBody(t, meta("index.ts"), part{name: "file", body: "x"})
	code, out := m.deployRaw("/v1/projects/fnoff/functions/deploy?slug=f", ct, body)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", out)
	require.Equal(t, "functions_disabled", out["code"])
	code, _ = m.call("GET", "/v1/projects/fnoff/functions", "")
	require.Equal(t, http.StatusOK, code)
}

// TestFunctionsWithSupabaseManagementJS drives the function and secret
// endpoints with the npm client supabase-management-js 2.0.2.
func TestFunctionsWithSupabaseManagementJS(t *testing.T) {
	t.Parallel()
	m := newTM(t, withFunctions(t, nil))
	code, _ := m.create("fnjs")
	require.Equal(t, http.StatusCreated, code)
	raw := runNodeClient(t, "functions_client.mjs", []string{"TM_BASE_URL=" + m.srv.URL, "TM_ADMIN_TOKEN=" + adminToken, "TM_REF=fnjs"})
	var res map[string]callResult
	require.NoError(t, json.Unmarshal(raw, &res), string(raw))
	for _, name := range []string{"bulkCreateSecrets", "listAllSecrets", "deployAFunction1", "deployAFunction2", "listAllFunctions",
		"getAFunction", "getAFunctionBody", "deleteAFunction", "bulkDeleteSecrets", "listAllSecretsAfterDelete"} {
		require.Empty(t, res[name].Error, "%s: %+v", name, res[name])
	}
	require.Equal(t, http.StatusCreated, res["bulkCreateSecrets"].Status)
	require.NotContains(t, string(res["listAllSecrets"].Data), "from-the-client", "listings carry digests only")
	var secrets []struct{ Name, Value string }
	res["listAllSecrets"].into(t, &secrets)
	require.Len(t, secrets, 2)
	sum := sha256.Sum256([]byte("from-the-client"))
	require.Equal(t, "MY_SECRET", secrets[0].Name)
	require.Equal(t, hex.EncodeToString(sum[:]), secrets[0].Value)

	var d1, d2, got v1Fn
	require.Equal(t, http.StatusCreated, res["deployAFunction1"].Status)
	res["deployAFunction1"].into(t, &d1)
	res["deployAFunction2"].into(t, &d2)
	require.Equal(t, 1, d1.Version)
	require.Equal(t, 2, d2.Version)
	require.Equal(t, "hello", d2.Slug)
	require.Equal(t, "Hello", d2.Name)
	require.Equal(t, "ACTIVE", d2.Status)
	require.Equal(t, d1.ID, d2.ID)
	require.Greater(t, d2.UpdatedAt, int64(0))
	var list []v1Fn
	res["listAllFunctions"].into(t, &list)
	require.Len(t, list, 1)
	require.Equal(t, 2, list[0].Version)
	res["getAFunction"].into(t, &got)
	require.Equal(t, 2, got.Version)
	require.Equal(t, "index.ts", got.EntrypointPath)
	var body string
	res["getAFunctionBody"].into(t, &body)
	require.Contains(t, body, `new Response("v2 "`)
	require.Equal(t, http.StatusBadRequest, res["deployBadSlug"].Status)
	require.Equal(t, http.StatusBadRequest, res["bulkCreateReserved"].Status)
	require.Equal(t, http.StatusOK, res["deleteAFunction"].Status)
	require.Equal(t, http.StatusNotFound, res["getDeletedFunction"].Status)
	require.Equal(t, http.StatusOK, res["bulkDeleteSecrets"].Status)
	var after []struct{ Name string }
	res["listAllSecretsAfterDelete"].into(t, &after)
	require.Equal(t, []struct{ Name string }{{"OTHER"}}, after)
}

type v1Fn struct {
	ID, Slug, Name, Status string
	Version                int
	CreatedAt              int64  `json:"created_at"`
	UpdatedAt              int64  `json:"updated_at"`
	EntrypointPath         string `json:"entrypoint_path"`
}
