// Package dbsecret keeps database credentials that live in Secrets Manager
// current. The secrets rotate (every 30 days in the stack), so a password
// read once at start would stop working: pools ask for the credentials
// before each new connection, and the secret is re-read when its copy is
// older than the TTL, or at once when a single connection's login fails.
package dbsecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Reader reads a secret's value.
type Reader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Source is one secret of {"username", "password"}.
type Source struct {
	Secrets Reader
	ARN     string
	TTL     time.Duration
	Now     func() time.Time

	mu       sync.Mutex
	user, pw string
	fetched  time.Time
}

// Credentials returns the current username and password.
func (s *Source) Credentials(ctx context.Context) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if s.pw != "" && now().Sub(s.fetched) < s.TTL {
		return s.user, s.pw, nil
	}
	out, err := s.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.ARN})
	if err != nil {
		return "", "", fmt.Errorf("reading secret %s: %w", s.ARN, err)
	}
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &v) != nil || v.Password == "" || v.Username == "" {
		return "", "", fmt.Errorf("secret %s has no username and password", s.ARN)
	}
	s.user, s.pw, s.fetched = v.Username, v.Password, now()
	return s.user, s.pw, nil
}

// Invalidate forgets the copy, e.g. after a login failed.
func (s *Source) Invalidate() {
	s.mu.Lock()
	s.pw = ""
	s.mu.Unlock()
}

// Apply sets the credentials on a connection configuration.
func (s *Source) Apply(ctx context.Context, cc *pgx.ConnConfig) error {
	user, pw, err := s.Credentials(ctx)
	if err != nil {
		return err
	}
	cc.User, cc.Password = user, pw
	return nil
}

// Connect opens one connection with current credentials, retrying once
// with a fresh copy of the secret when the login is refused.
func (s *Source) Connect(ctx context.Context, cc *pgx.ConnConfig) (*pgx.Conn, error) {
	for attempt := 0; ; attempt++ {
		c := cc.Copy()
		if err := s.Apply(ctx, c); err != nil {
			return nil, err
		}
		conn, err := pgx.ConnectConfig(ctx, c)
		if err == nil || attempt > 0 || !authFailed(err) {
			return conn, err
		}
		s.Invalidate()
	}
}

// Pool wires a pool to the source: credentials before every new
// connection (pgxpool has no hook for a refused login, so a short TTL
// bounds how long a rotated password is missed).
func (s *Source) Pool(cfg *pgxpool.Config) {
	cfg.BeforeConnect = s.Apply
}

func authFailed(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "28P01"
}
