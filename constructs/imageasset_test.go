package platform

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDockerignorePatterns(t *testing.T) {
	got, err := dockerignorePatterns([]byte("# why\n*\n\n  !svc/go.mod  \n**/*_test.go\n"))
	require.NoError(t, err)
	require.Equal(t, []string{"*", "!svc/go.mod", "**/*_test.go"}, got)
	_, err = dockerignorePatterns([]byte("# only a comment\n\n"))
	require.ErrorContains(t, err, "no patterns")
}
