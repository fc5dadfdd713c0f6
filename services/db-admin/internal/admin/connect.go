package admin

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// TLS is always on: sslmode is require at least (RDS forces SSL too);
// verify-full with SSLRootCert pins the RDS certificate authority.
type TLS struct {
	Mode     string // require, verify-ca or verify-full
	RootCert string // path of the CA bundle for verify-*
}

func (t TLS) mode() string {
	switch t.Mode {
	case "verify-ca", "verify-full":
		return t.Mode
	default:
		return "require"
	}
}

// connect opens one connection as c to database on c's host.
func connect(ctx context.Context, c Credentials, database string, tls TLS) (*pgx.Conn, error) {
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(c.Username, c.Password),
		Host:   net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		Path:   "/" + database,
	}
	q := url.Values{"sslmode": {tls.mode()}, "connect_timeout": {"10"}, "application_name": {"db-admin"}}
	if tls.RootCert != "" {
		q.Set("sslrootcert", tls.RootCert)
	}
	u.RawQuery = q.Encode()
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		// The URL holds the password: report only what is safe.
		return nil, fmt.Errorf("connection settings for %s@%s/%s are invalid", c.Username, u.Host, database)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s as %s: %w", u.Host+"/"+database, c.Username, err)
	}
	return conn, nil
}
