// Package services tests what the runtime services' Dockerfiles promise,
// by parsing them (no Docker engine is needed): pinned base images, the
// entrypoints and the environment the platform relies on.
package services

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/stretchr/testify/require"
)

// instruction is one Dockerfile line: the lower-cased command, its
// arguments, its flags (--from=…) and whether it used the JSON form.
type instruction struct {
	cmd   string
	args  []string
	flags []string
	json  bool
}

// stage is one FROM and what follows it.
type stage struct {
	image, name  string
	instructions []instruction
}

func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	res, err := parser.Parse(f)
	require.NoError(t, err, path)
	var stages []stage
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, json: n.Attributes["json"]}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		if in.cmd == "from" {
			s := stage{image: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "as") {
				s.name = in.args[2]
			}
			stages = append(stages, s)
			continue
		}
		require.NotEmpty(t, stages, "%s: %s before FROM", path, in.cmd)
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, in)
	}
	return stages
}

func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// env collects the stage's ENV key/value pairs.
func (s stage) env() map[string]string {
	env := map[string]string{}
	for _, in := range s.find("env") {
		for i := 0; i+1 < len(in.args); i += 3 { // key, value, separator
			env[in.args[i]] = in.args[i+1]
		}
	}
	return env
}

var pinnedTag = regexp.MustCompile(`:[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$`)

// Every base image of every service is pinned to a version, never latest.
func TestBaseImagesArePinned(t *testing.T) {
	files, err := filepath.Glob("*/Dockerfile")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		stages := parseDockerfile(t, f)
		names := map[string]bool{}
		for _, s := range stages {
			if !names[s.image] && s.image != "scratch" {
				require.Regexp(t, pinnedTag, s.image, "%s: FROM %s is not pinned to a version", f, s.image)
				require.NotContains(t, s.image, ":latest", f)
			}
			if s.name != "" {
				names[s.name] = true
			}
		}
	}
}

func TestPostgrestLambdaDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "postgrest-lambda/Dockerfile")
	final := stages[len(stages)-1]
	require.True(t, strings.HasPrefix(final.image, "public.ecr.aws/lambda/provided:al2023."), final.image)

	byName := map[string]stage{}
	for _, s := range stages {
		byName[s.name] = s
	}
	pgrst := regexp.MustCompile(`^postgrest/postgrest:v(\d+)\.`).FindStringSubmatch(byName["postgrest"].image)
	require.NotNil(t, pgrst, "PostgREST comes from its pinned image")
	major, err := strconv.Atoi(pgrst[1])
	require.NoError(t, err)
	require.GreaterOrEqual(t, major, 12, "PostgREST v12 or newer")
	require.Regexp(t, `^public\.ecr\.aws/awsguru/aws-lambda-adapter:\d+\.\d+\.\d+$`, byName["adapter"].image)

	copies := map[string]string{} // destination -> --from stage
	for _, in := range final.find("copy") {
		from := ""
		for _, fl := range in.flags {
			from = strings.TrimPrefix(fl, "--from=")
		}
		copies[in.args[len(in.args)-1]] = from
	}
	require.Equal(t, "adapter", copies["/opt/extensions/lambda-adapter"], "LWA is installed as an extension")
	require.Equal(t, "postgrest", copies["/usr/local/bin/postgrest"])
	require.Equal(t, "build", copies["/usr/local/bin/bootstrap"])

	build := byName["build"]
	var built bool
	for _, in := range build.find("run") {
		if strings.Contains(strings.Join(in.args, " "), "go build") && strings.Contains(strings.Join(in.args, " "), "./cmd/bootstrap") {
			built = true
		}
	}
	require.True(t, built, "the build stage builds ./cmd/bootstrap")

	env := final.env()
	require.Equal(t, "X-Client-Authorization", env["AWS_LWA_AUTHORIZATION_SOURCE"])
	require.Equal(t, "/ready", env["AWS_LWA_READINESS_CHECK_PATH"])
	require.NotEmpty(t, env["AWS_LWA_PORT"])
	require.NotEmpty(t, env["AWS_LWA_READINESS_CHECK_PORT"])
	require.Equal(t, env["PGRST_ADMIN_SERVER_PORT"], env["AWS_LWA_READINESS_CHECK_PORT"], "readiness is PostgREST's admin server")
	require.Equal(t, env["PGRST_SERVER_PORT"], env["AWS_LWA_PORT"], "LWA forwards to PostgREST")
	require.Equal(t, "/usr/local/bin/postgrest", env["POSTGREST_PATH"])

	entry := final.find("entrypoint")
	require.Len(t, entry, 1)
	require.True(t, entry[0].json, "exec-form ENTRYPOINT")
	require.Equal(t, []string{"/usr/local/bin/bootstrap"}, entry[0].args)
}

func TestDbAdminDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "db-admin/Dockerfile")
	final := stages[len(stages)-1]
	require.True(t, strings.HasPrefix(final.image, "public.ecr.aws/lambda/provided:al2023."), final.image)
	entry := final.find("entrypoint")
	require.Len(t, entry, 1)
	require.True(t, entry[0].json)
	require.Equal(t, []string{"/usr/local/bin/db-admin"}, entry[0].args)
	require.NotEqual(t, "disable", final.env()["DB_SSLMODE"], "TLS to RDS is never off")
	var built bool
	for _, in := range stages[0].find("run") {
		built = built || strings.Contains(strings.Join(in.args, " "), "./cmd/db-admin")
	}
	require.True(t, built, "the build stage builds ./cmd/db-admin")
}

func TestKongDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "kong/Dockerfile")
	require.Len(t, stages, 1)
	final := stages[0]
	require.Regexp(t, `^kong:3\.\d+\.\d+$`, final.image, "a pinned Kong 3.x")

	copies := map[string]string{}
	for _, in := range final.find("copy") {
		copies[in.args[len(in.args)-1]] = in.args[0]
	}
	require.Equal(t, "kong/plugins/dynamic-lambda-router/", copies["/usr/local/share/lua/5.1/kong/plugins/dynamic-lambda-router/"])
	require.Equal(t, "config/", copies["/opt/supabase-kong/"])

	env := final.env()
	require.Equal(t, "bundled,dynamic-lambda-router", env["KONG_PLUGINS"])
	require.Equal(t, "on", env["KONG_PG_SSL"])
	require.Equal(t, "postgres", env["KONG_DATABASE"])
	require.Contains(t, env["KONG_PROXY_LISTEN"], ":8000")
	require.Contains(t, env["KONG_ADMIN_LISTEN"], ":8001")
	require.Contains(t, env["KONG_NGINX_MAIN_ENV"], "KONG_REDIS_PASSWORD", "the env vault can read the Redis token")
	require.Contains(t, env["KONG_NGINX_MAIN_ENV"], "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "the plugin can find the task role")

	users := final.find("user")
	require.NotEmpty(t, users)
	require.Equal(t, []string{"kong"}, users[len(users)-1].args, "Kong runs as the unprivileged kong user")
	require.NotEmpty(t, final.find("healthcheck"))
	entry := final.find("entrypoint")
	require.Len(t, entry, 1)
	require.Equal(t, []string{"/opt/supabase-kong/docker-entrypoint.sh"}, entry[0].args)
	cmd := final.find("cmd")
	require.Len(t, cmd, 1)
	require.Equal(t, []string{"kong", "docker-start"}, cmd[0].args)
}

func TestTenantManagerDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "tenant-manager/Dockerfile")
	final := stages[len(stages)-1]
	require.Equal(t, "scratch", final.image, "nothing but the binary and CA certificates")
	users := final.find("user")
	require.NotEmpty(t, users)
	require.NotEqual(t, "0", strings.Split(users[len(users)-1].args[0], ":")[0], "not root")
	entry := final.find("entrypoint")
	require.Len(t, entry, 1)
	require.Equal(t, []string{"/usr/local/bin/tenant-manager"}, entry[0].args)
	hc := final.find("healthcheck")
	require.Len(t, hc, 1)
	require.Contains(t, strings.Join(hc[0].args, " "), "tenant-manager healthcheck")
	var built bool
	for _, in := range stages[0].find("run") {
		built = built || strings.Contains(strings.Join(in.args, " "), "./cmd/tenant-manager")
	}
	require.True(t, built)
}

// The thin wrappers of upstream images: pinned, with a health check, and a
// non-root user where the upstream image has one.
func TestThinServiceDockerfiles(t *testing.T) {
	for _, tc := range []struct {
		dir, image, user string
	}{
		{"studio", "supabase/studio:", ""},
		{"postgres-meta", "supabase/postgres-meta:v", "node"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			stages := parseDockerfile(t, filepath.Join(tc.dir, "Dockerfile"))
			final := stages[len(stages)-1]
			require.True(t, strings.HasPrefix(final.image, tc.image), final.image)
			require.NotContains(t, final.image, "latest")
			hc := final.find("healthcheck")
			require.Len(t, hc, 1, "a HEALTHCHECK is defined")
			if tc.user != "" {
				users := final.find("user")
				require.NotEmpty(t, users)
				require.Equal(t, tc.user, users[len(users)-1].args[0])
			}
		})
	}
	t.Run("studio listens on 8000", func(t *testing.T) {
		stages := parseDockerfile(t, "studio/Dockerfile")
		require.Equal(t, "8000", stages[0].env()["PORT"])
	})
	// Studio has no login of its own: the authenticating proxy must be what
	// the container runs and the only thing on 8000, Studio its child.
	t.Run("studio runs behind its auth proxy", func(t *testing.T) {
		stages := parseDockerfile(t, "studio/Dockerfile")
		final := stages[len(stages)-1]
		const proxy = "/opt/studio-auth-proxy/auth-proxy.mjs"
		copies := map[string]string{}
		for _, in := range final.find("copy") {
			copies[in.args[len(in.args)-1]] = in.args[0]
		}
		require.Equal(t, "auth-proxy.mjs", copies[proxy])
		ignore, err := os.ReadFile("studio/.dockerignore")
		require.NoError(t, err)
		require.Contains(t, strings.Fields(string(ignore)), "!auth-proxy.mjs", "the proxy is in the build context")

		entry := final.find("entrypoint")
		require.Len(t, entry, 1)
		require.True(t, entry[0].json, "exec-form ENTRYPOINT, so the proxy gets the stop signal")
		require.Equal(t, []string{"node", proxy}, entry[0].args)
		cmd := final.find("cmd")
		require.Len(t, cmd, 1)
		require.Equal(t, []string{"node", "apps/studio/server.js"}, cmd[0].args, "the upstream image's Studio command")

		env := final.env()
		require.NotEqual(t, "none", env["STUDIO_AUTH"], "authentication is on unless the stack turns it off")
		require.NotEmpty(t, env["STUDIO_UPSTREAM_PORT"])
		require.NotEqual(t, env["PORT"], env["STUDIO_UPSTREAM_PORT"])
		require.NotContains(t, env, "STUDIO_PASSWORD", "no password baked into the image")

		hc := final.find("healthcheck")
		require.Len(t, hc, 1)
		require.Contains(t, strings.Join(hc[0].args, " "), "http://127.0.0.1:8000/_auth-proxy/health",
			"the health check uses the proxy's open health path (Studio's own paths need credentials)")
	})
}

// The images whose module requires services/callerid build from services/:
// every file they copy exists, is let in by their Dockerfile.dockerignore
// (which the CDK asset uses too), the sibling module is there before
// `go mod download`, and go.mod points at it.
func TestSharedContextImages(t *testing.T) {
	for _, svc := range []string{"tenant-manager", "postgrest-lambda", "functions-runtime"} {
		t.Run(svc, func(t *testing.T) {
			ignore, err := os.ReadFile(svc + "/Dockerfile.dockerignore")
			require.NoError(t, err)
			patterns := strings.Fields(string(ignore))
			require.Contains(t, patterns, "*", "the context starts empty")
			require.Contains(t, patterns, "**/*_test.go", "tests stay out")
			build := parseDockerfile(t, svc+"/Dockerfile")[0]
			var copies []string
			downloadedAt, sibling := -1, -1
			for i, in := range build.instructions {
				switch {
				case in.cmd == "copy" && len(in.flags) == 0:
					copies = append(copies, in.args[:len(in.args)-1]...)
					if in.args[0] == "callerid/go.mod" {
						sibling = i
					}
				case in.cmd == "run" && strings.Contains(strings.Join(in.args, " "), "go mod download"):
					downloadedAt = i
				}
			}
			require.NotEqual(t, -1, sibling, "callerid/go.mod is copied")
			require.Less(t, sibling, downloadedAt, "go mod download reads ../callerid/go.mod")
			for _, src := range copies {
				_, err := os.Stat(src)
				require.NoError(t, err, "%s copies %s, which is not under services/", svc, src)
				admitted := false
				for _, p := range patterns {
					p = strings.TrimPrefix(p, "!")
					admitted = admitted || strings.TrimSuffix(p, "/") == strings.TrimSuffix(src, "/") ||
						strings.HasPrefix(p, strings.TrimSuffix(src, "/")+"/") || strings.HasPrefix(src, strings.TrimSuffix(p, "/")+"/")
				}
				require.True(t, admitted, "%s copies %s, which its Dockerfile.dockerignore keeps out", svc, src)
			}
			mod, err := os.ReadFile(svc + "/go.mod")
			require.NoError(t, err)
			require.Regexp(t, `(?m)^replace github.com/supabase-on-aws/supabase-on-aws/services/callerid => \.\./callerid$`, string(mod))
			_, err = os.Stat(svc + "/.dockerignore")
			require.True(t, os.IsNotExist(err), "a context-root .dockerignore in %s/ would never be read: keep the patterns in Dockerfile.dockerignore", svc)
		})
	}
}
