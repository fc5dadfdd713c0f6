package secretbox

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	b, err := New(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	require.NoError(t, err)
	sealed, err := b.Seal("p1x", "jwt_keys.secret", []byte("s3cret"))
	require.NoError(t, err)
	require.NotContains(t, string(sealed), "s3cret")
	pt, err := b.Open("p1x", "jwt_keys.secret", sealed)
	require.NoError(t, err)
	require.Equal(t, "s3cret", string(pt))

	_, err = b.Open("p2x", "jwt_keys.secret", sealed)
	require.Error(t, err, "another project's row does not decrypt")
	_, err = b.Open("p1x", "postgrest_config.db_uri", sealed)
	require.Error(t, err, "another column does not decrypt")
	sealed[len(sealed)-1] ^= 1
	_, err = b.Open("p1x", "jwt_keys.secret", sealed)
	require.Error(t, err, "tampering is detected")
	require.NotContains(t, err.Error(), "s3cret")

	hexBox, err := New(strings.Repeat("ab", 32))
	require.NoError(t, err)
	_, err = hexBox.Seal("p1x", "c", []byte("x"))
	require.NoError(t, err)
	for _, bad := range []string{"", "short", base64.StdEncoding.EncodeToString(make([]byte, 16)), "!!!"} {
		_, err := New(bad)
		require.Error(t, err)
	}
}
