package test

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden template files in testdata/")

// assetHash matches the content hashes of assets, which change with any
// byte of the asset and say nothing about the infrastructure.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

func templateJSON(t *testing.T, s *synthesized) []byte {
	t.Helper()
	b, err := json.MarshalIndent(s.json, "", "  ")
	require.NoError(t, err)
	return append(b, '\n')
}

func TestSnapshot(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"no-domain", defaultConfig},
		{"domain", domainConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := assetHash.ReplaceAll(templateJSON(t, synth(t, tc.path)), []byte("<asset-hash>"))
			golden := filepath.Join("testdata", "snapshot-"+tc.name+".template.json")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: run `go test ./test -run TestSnapshot -update`")
			require.Equal(t, string(want), string(got), "the template changed: review the diff, then run `go test ./test -run TestSnapshot -update`")
		})
	}
}

func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	require.NoError(t, err, "cfn-lint is not installed: run the README test command, which installs it")
	version, err := exec.Command("python3", "-c", `import importlib.metadata as m; print(m.version("cfn-lint"))`).Output()
	require.NoError(t, err, "reading cfn-lint's version")
	// One cfn-lint run for every template: loading its schemas is most of
	// its time. Findings name the file, and so the config.
	dir := t.TempDir()
	var files []string
	key := sha256.New()
	fmt.Fprintf(key, "cfn-lint %s\x00", strings.TrimSpace(string(version)))
	for _, path := range []string{defaultConfig, domainConfig, bigConfig} {
		file := filepath.Join(dir, strings.NewReplacer("../", "", "/", "-").Replace(path)+".template.json")
		template := templateJSON(t, synth(t, path))
		require.NoError(t, os.WriteFile(file, template, 0o644))
		files = append(files, file)
		fmt.Fprintf(key, "%s\x00%s\x00", filepath.Base(file), template)
	}
	// The same cfn-lint passed the same templates before: its verdict stands.
	passed := filepath.Join("..", ".cache", "template-test", fmt.Sprintf("cfn-lint-%x.passed", key.Sum(nil)[:16]))
	if _, err := os.Stat(passed); err == nil {
		t.Logf("cfn-lint %s passed these templates before (%s)", strings.TrimSpace(string(version)), passed)
		return
	}
	out, err := exec.Command(bin, append([]string{"--format", "parseable"}, files...)...).CombinedOutput()
	require.NoError(t, err, "cfn-lint reported:\n%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "cfn-lint reported warnings")
	require.NoError(t, os.MkdirAll(filepath.Dir(passed), 0o755))
	require.NoError(t, os.WriteFile(passed, nil, 0o644))
}

func TestCdkNag(t *testing.T) {
	for _, path := range []string{defaultConfig, domainConfig, bigConfig} {
		t.Run(path, func(t *testing.T) {
			s := synth(t, path)
			nag := regexp.MustCompile(`^AwsSolutions-`)
			findings := append(s.findings("error", nag), s.findings("warning", nag)...)
			require.Empty(t, findings, "unsuppressed cdk-nag AwsSolutions findings")
		})
	}
}

// Every suppression must say why, in words specific to this design.
func TestNagSuppressionsHaveReasons(t *testing.T) {
	s := synth(t, defaultConfig)
	n := 0
	for id, r := range s.json["Resources"].(map[string]any) {
		md, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := md["cdk_nag"].(map[string]any)
		rules, _ := nag["rules_to_suppress"].([]any)
		for _, x := range rules {
			rule := x.(map[string]any)
			reason, _ := rule["reason"].(string)
			require.GreaterOrEqual(t, len(reason), 40, "%s: suppression %v needs a real reason", id, rule["id"])
			n++
		}
	}
	require.NotZero(t, n)
}

// No literal secret may appear in the template: every password-like
// property is a dynamic reference or generated.
func TestNoPlaintextSecrets(t *testing.T) {
	for _, path := range []string{defaultConfig, bigConfig} {
		s := synth(t, path)
		var walk func(key string, v any)
		walk = func(key string, v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					walk(k, e)
				}
			case []any:
				for _, e := range x {
					walk(key, e)
				}
			case string:
				lk := strings.ToLower(key)
				if lk == "secretstringtemplate" {
					require.NotContains(t, strings.ToLower(x), "password", "%s: the secret template holds no password", path)
					return
				}
				if strings.HasSuffix(lk, "password") || lk == "authtoken" || lk == "secretstring" {
					require.Contains(t, x, "{{resolve:secretsmanager:", "%s: %s holds a literal", path, key)
				}
			}
		}
		walk("", s.json["Resources"])
	}
}
