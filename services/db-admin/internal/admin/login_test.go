package admin

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDatabaseLoginResource(t *testing.T) {
	ctx := context.Background()
	master := putSecret(t, "login-master", Credentials{Username: pg.AdminUser, Password: pg.AdminPassword, Host: pg.Host, Port: pg.Port})
	login := putSecret(t, "login-meta", Credentials{Username: "meta_login", Password: "meta-login-password-0123456789"})
	h := &Handler{Admin: &Admin{Secrets: sm, Instances: map[string]string{"primary": master}}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	props := map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:db-admin", "MasterSecretArn": master, "LoginSecretArn": login,
		"Role": "meta_login", "MemberOf": []string{"pg_monitor", "pg_read_all_data"}}

	// The test master, like one without rds_superuser's rights, may not
	// grant the predefined roles: the login is still created.
	r := invokeResource(t, h, "Create", LoginResourceType, "", props)
	require.Equal(t, "SUCCESS", r.Status, r.Reason)
	require.Equal(t, "supabase-login-meta_login", r.PhysicalResourceID)
	require.Equal(t, "", r.Data["MemberOf"])
	conn, err := pg.Connect(ctx, "meta_login", "meta-login-password-0123456789", "postgres")
	require.NoError(t, err)
	conn.Close(ctx)

	// Run again it changes nothing and still succeeds; delete keeps the role.
	r = invokeResource(t, h, "Update", LoginResourceType, r.PhysicalResourceID, props)
	require.Equal(t, "SUCCESS", r.Status, r.Reason)
	r = invokeResource(t, h, "Delete", LoginResourceType, r.PhysicalResourceID, props)
	require.Equal(t, "SUCCESS", r.Status, r.Reason)
	require.Equal(t, "supabase-login-meta_login", r.PhysicalResourceID)
	conn, err = pg.Connect(ctx, "meta_login", "meta-login-password-0123456789", "postgres")
	require.NoError(t, err, "delete must not drop the login a running task uses")
	conn.Close(ctx)

	// Bad input fails the resource with a message that names it.
	bad := map[string]any{}
	for k, v := range props {
		bad[k] = v
	}
	bad["Role"] = "Meta; DROP"
	r = invokeResource(t, h, "Create", LoginResourceType, "", bad)
	require.Equal(t, "FAILED", r.Status)
	require.Contains(t, r.Reason, `Role "Meta; DROP" must be`)
	bad["Role"], bad["LoginSecretArn"] = "other_login", login
	r = invokeResource(t, h, "Create", LoginResourceType, "", bad)
	require.Equal(t, "FAILED", r.Status)
	require.Contains(t, r.Reason, `names user "meta_login", not other_login or other_login_clone`)
	require.NotContains(t, r.Reason, "meta-login-password")
}
