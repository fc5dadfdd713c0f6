package platform

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NewImageAsset builds services/<name>'s image. A service whose build needs
// a sibling module (e.g. services/callerid) keeps a Dockerfile.dockerignore
// beside its Dockerfile: its build context is then the whole services
// folder, narrowed by those patterns both for Docker (BuildKit reads
// <Dockerfile>.dockerignore) and for the asset CDK stages and hashes.
func NewImageAsset(scope constructs.Construct, id, servicesDir, name string) awsecrassets.DockerImageAsset {
	props := &awsecrassets.DockerImageAssetProps{
		Directory: jsii.String(filepath.Join(servicesDir, name)),
		Platform:  awsecrassets.Platform_LINUX_AMD64(),
	}
	ignore := filepath.Join(servicesDir, name, "Dockerfile.dockerignore")
	if data, err := os.ReadFile(ignore); err == nil {
		patterns, err := dockerignorePatterns(data)
		if err != nil {
			panic(fmt.Sprintf("%s: %v", ignore, err))
		}
		props.Directory = jsii.String(servicesDir)
		props.File = jsii.String(name + "/Dockerfile")
		props.Exclude = jsii.Strings(patterns...)
		props.IgnoreMode = awscdk.IgnoreMode_DOCKER
	}
	return awsecrassets.NewDockerImageAsset(scope, jsii.String(id), props)
}

// dockerignorePatterns reads a .dockerignore: one pattern a line, blank
// lines and # comments skipped.
func dockerignorePatterns(data []byte) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no patterns: a shared build context needs patterns that narrow it")
	}
	return out, sc.Err()
}
