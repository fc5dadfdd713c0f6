package apikey

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeys(t *testing.T) {
	for _, typ := range []string{Publishable, Secret} {
		k, err := New("acme-prod", typ)
		require.NoError(t, err)
		require.Regexp(t, `^sb_`+typ+`_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}$`, k.Full)
		require.True(t, strings.HasPrefix(k.Full, k.Prefix))
		require.Equal(t, Hash(k.Full), k.Hash)
		got, err := Check("acme-prod", k.Full)
		require.NoError(t, err)
		require.Equal(t, typ, got)
		_, err = Check("other-proj", k.Full)
		require.ErrorIs(t, err, ErrChecksum, "a key is bound to its project")
		bad := k.Full[:len(k.Full)-1] + flip(k.Full[len(k.Full)-1])
		_, err = Check("acme-prod", bad)
		require.ErrorIs(t, err, ErrChecksum)
	}
	for _, s := range []string{"", "sb_publishable_x", "sb_admin_aaaaaaaaaaaaaaaaaaaaaa_bbbbbbbb", "eyJhbGciOiJIUzI1NiJ9.e30.x"} {
		_, err := Check("acme-prod", s)
		require.ErrorIs(t, err, ErrMalformed, s)
	}
	_, err := New("acme-prod", "admin")
	require.Error(t, err)
	require.Equal(t, "service_role", RoleOf(Secret))
	require.Equal(t, "anon", RoleOf(Publishable))
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
