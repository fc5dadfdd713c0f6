package provision

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
)

// Create provisions a tenant under the id the caller chose
// (/project/create-pgrest-lambda); the id must be validated by the caller.
func (s *Service) Create(ctx context.Context, projectID string) (*Created, error) {
	return s.createProject(ctx, projectID, store.ProjectMeta{})
}

// AddKey creates another key of a type and returns it once.
func (s *Service) AddKey(ctx context.Context, projectID, name, typ string) (*NewKey, error) {
	return s.addKey(ctx, projectID, name, typ, nil)
}

// AddDescribedKey is AddKey with a description kept beside the key.
func (s *Service) AddDescribedKey(ctx context.Context, projectID, name, typ string, description *string) (*NewKey, error) {
	return s.addKey(ctx, projectID, name, typ, description)
}

// RefLength is the length of a generated project ref, as Supabase's.
const RefLength = 20

// NewRef returns a Supabase-style project ref: 20 letters a-z from
// crypto/rand. Bytes of 234 and above are drawn again (234 = 9 * 26), so
// every letter is equally likely. Such a ref always passes the project id
// rules: letters only, no "--", and no reserved word is 20 letters long.
func NewRef() (string, error) {
	out := make([]byte, 0, RefLength)
	buf := make([]byte, 2*RefLength)
	for len(out) < RefLength {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < 234 && len(out) < RefLength {
				out = append(out, 'a'+b%26)
			}
		}
	}
	return string(out), nil
}

// refAttempts bounds the retries after a generated ref collided with an
// existing project (26^20 refs make even one collision unlikely).
const refAttempts = 5

// CreateManaged provisions a project under a generated ref, exactly as
// Create does; a ref that is taken already is drawn again.
func (s *Service) CreateManaged(ctx context.Context, meta store.ProjectMeta) (*Created, error) {
	for i := 0; i < refAttempts; i++ {
		ref, err := NewRef()
		if err != nil {
			return nil, err
		}
		c, err := s.createProject(ctx, ref, meta)
		if errors.Is(err, store.ErrDuplicate) {
			s.Log.Warn("generated project ref was taken; drawing another", "project_id", ref)
			continue
		}
		return c, err
	}
	return nil, fmt.Errorf("no free project ref after %d attempts", refAttempts)
}

// RecycleError is a PostgREST settings change that was stored but whose
// Lambda recycle failed: new instances use the new settings, warm ones may
// keep the old until the next recycle.
type RecycleError struct{ Err error }

func (e *RecycleError) Error() string {
	return "recycling the function after a settings change: " + e.Err.Error()
}
func (e *RecycleError) Unwrap() error { return e.Err }

// UpdatePostgrest stores new PostgREST settings and recycles the project's
// Lambda with the mechanism a JWT rotation uses (CONFIG_GENERATION, waited
// until the update succeeded), so from the answer on every invocation runs
// in an instance that fetched the new settings. It recycles even when the
// values did not change, so repeating a request whose recycle failed
// completes it. The recycle runs to its end even if the caller disconnects.
func (s *Service) UpdatePostgrest(ctx context.Context, projectID string, set store.PostgrestSettings) (store.PostgrestConfig, error) {
	if _, err := s.activeProject(ctx, projectID); err != nil {
		return store.PostgrestConfig{}, err
	}
	_, after, err := s.Store.UpdatePostgrestSettings(ctx, projectID, set)
	if err != nil {
		return after, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.rotation().Timeout)
	defer cancel()
	if err := s.Functions.Recycle(rctx, projectID); err != nil {
		s.Log.Warn("postgrest settings stored, but recycling the function failed", "project_id", projectID, "error", err.Error())
		return after, &RecycleError{Err: err}
	}
	s.Log.Info("postgrest settings changed", "project_id", projectID, "db_schemas", after.DBSchemas, "db_extra_search_path", after.DBExtraSearchPath, "db_max_rows", after.DBMaxRows)
	return after, nil
}

// ErrDatabaseLogin is a failed health login; its cause goes to the log only.
var ErrDatabaseLogin = errors.New("the project's authenticator could not log in to its database")

// CheckDatabaseLogin logs in to the tenant database as the project's
// authenticator, with the URI its PostgREST uses, and runs a query.
func (s *Service) CheckDatabaseLogin(ctx context.Context, projectID string) error {
	c, err := s.Store.GetPostgrestConfig(ctx, projectID)
	if err != nil {
		return err
	}
	uri, err := s.Box.Open(projectID, colDBURI, c.DBURI)
	if err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(string(uri))
	if err != nil {
		// The parser's message may quote the URI, password included.
		return fmt.Errorf("%w: the stored connection settings do not parse", ErrDatabaseLogin)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		s.Log.Warn("health: database login failed", "project_id", projectID, "error", err.Error())
		return ErrDatabaseLogin
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		s.Log.Warn("health: query after database login failed", "project_id", projectID, "error", err.Error())
		return ErrDatabaseLogin
	}
	return nil
}

type functionInspector interface {
	Inspect(ctx context.Context, projectID string) (lambdas.Status, error)
}

// InspectFunction reads the project's Lambda state and URL configuration.
func (s *Service) InspectFunction(ctx context.Context, projectID string) (lambdas.Status, error) {
	fi, ok := s.Functions.(functionInspector)
	if !ok {
		return lambdas.Status{}, errors.New("this function client cannot read function state")
	}
	return fi.Inspect(ctx, projectID)
}
