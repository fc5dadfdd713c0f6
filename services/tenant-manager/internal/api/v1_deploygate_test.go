package api

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDeployGate(t *testing.T) {
	var g deployGate
	status := func(err error) int {
		var ae *apiError
		require.True(t, errors.As(err, &ae))
		return ae.Status
	}
	var releases []func()
	for i := range maxConcurrentDeploys {
		rel, err := g.acquire(fmt.Sprintf("p%d", i))
		require.NoError(t, err)
		releases = append(releases, rel)
	}
	_, err := g.acquire("p0")
	require.Equal(t, 409, status(err), "one deploy per project")
	_, err = g.acquire("other")
	require.Equal(t, 503, status(err), "a bounded number per task")
	releases[0]()
	rel, err := g.acquire("other")
	require.NoError(t, err, "a finished deploy frees its place")
	rel()
	rel, err = g.acquire("p0")
	require.NoError(t, err)
	rel()
}
