package platform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

// The stack only builds the PostgREST image (for linux/amd64, from
// services/postgrest-lambda) and hands over its URI.
func TestTenantLambda(t *testing.T) {
	stack := newStack(t)
	nonEmpty(stack)
	tl := NewTenantLambda(stack, "TenantLambda", &TenantLambdaProps{ServicesDir: servicesDir})
	awscdk.NewCfnOutput(stack, jsii.String("Image"), &awscdk.CfnOutputProps{Value: tl.Image.ImageUri()})
	x := synth(t, stack)
	x.count(t, "AWS::Lambda::Function", 0)

	uri := capture()
	x.hasOutput(t, "Image", map[string]any{"Value": uri})
	require.Contains(t, toJSON(uri.AsObject()), "cdk-hnb659fds-container-assets-${AWS::AccountId}-us-east-1:"+*tl.Image.AssetHash())

	outdir := *awscdk.Stage_Of(stack).Outdir()
	raw, err := os.ReadFile(filepath.Join(outdir, *stack.ArtifactId()+".assets.json"))
	require.NoError(t, err)
	var manifest struct {
		DockerImages map[string]struct {
			Source struct {
				Directory, Platform string
				DockerFile          string `json:"dockerFile"`
			} `json:"source"`
		} `json:"dockerImages"`
	}
	require.NoError(t, json.Unmarshal(raw, &manifest))
	img, ok := manifest.DockerImages[*tl.Image.AssetHash()]
	require.True(t, ok)
	require.Equal(t, "linux/amd64", img.Source.Platform)
	want, err := os.ReadFile(filepath.Join(servicesDir, "postgrest-lambda", "Dockerfile"))
	require.NoError(t, err)
	require.Equal(t, "postgrest-lambda/Dockerfile", img.Source.DockerFile, "built from services/ (it needs the callerid module)")
	got, err := os.ReadFile(filepath.Join(outdir, img.Source.Directory, img.Source.DockerFile))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "the image is built from services/postgrest-lambda")
	// The staged context holds the two modules' sources and nothing else.
	var staged []string
	require.NoError(t, filepath.WalkDir(filepath.Join(outdir, img.Source.Directory), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(outdir, img.Source.Directory), path)
			staged = append(staged, rel)
		}
		return err
	}))
	require.Contains(t, staged, "callerid/sign.go")
	require.Contains(t, staged, "postgrest-lambda/cmd/bootstrap/main.go")
	for _, f := range staged {
		require.False(t, strings.HasSuffix(f, "_test.go"), "no tests in the image context: %s", f)
		require.True(t, strings.HasPrefix(f, "postgrest-lambda/") || strings.HasPrefix(f, "callerid/"), "only the two modules: %s", f)
	}
}
