// Package rotationtest proves that every scheduled rotation of a database
// secret leaves every consumer of that secret logged in, with no manual
// step: services that read the secret at run time (db-admin, the
// tenant-manager) and services that ECS gives the secret at task start
// (Kong, postgres-meta), which the rotation redeploys.
package rotationtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/db-admin/internal/admin"
	"github.com/supabase-on-aws/supabase-on-aws/services/db-admin/internal/dbtest"
	"github.com/supabase-on-aws/supabase-on-aws/services/testkit/pgtest"
)

var (
	pg      *pgtest.Server
	motoURL string
)

func TestMain(m *testing.M) {
	dbtest.Main(m, func(p *pgtest.Server, url string) { pg, motoURL = p, url })
}

type creds struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	Host      string `json:"host,omitempty"`
	Port      int    `json:"port,omitempty"`
	MasterARN string `json:"masterarn,omitempty"`
}

type env struct {
	t   *testing.T
	ctx context.Context
	sm  *secretsmanager.Client
	ecs *ecs.Client
	n   int
}

func (e *env) put(name string, c creds) string {
	b, _ := json.Marshal(c)
	out, err := e.sm.CreateSecret(e.ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(b))})
	require.NoError(e.t, err)
	return *out.ARN
}

func (e *env) current(arn string) creds {
	out, err := e.sm.GetSecretValue(e.ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	require.NoError(e.t, err)
	var c creds
	require.NoError(e.t, json.Unmarshal([]byte(*out.SecretString), &c))
	return c
}

func (e *env) setCurrent(arn string, c creds) {
	b, _ := json.Marshal(c)
	_, err := e.sm.PutSecretValue(e.ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(string(b)), VersionStages: []string{"AWSCURRENT"}})
	require.NoError(e.t, err)
}

func (e *env) login(c creds, database string) error {
	conn, err := pg.Connect(e.ctx, c.Username, c.Password, database)
	if err != nil {
		return err
	}
	defer conn.Close(e.ctx)
	var one int
	return conn.QueryRow(e.ctx, "SELECT 1").Scan(&one)
}

func (e *env) exec(c creds, database, sql string) error {
	conn, err := pg.Connect(e.ctx, c.Username, c.Password, database)
	if err != nil {
		return err
	}
	defer conn.Close(e.ctx)
	_, err = conn.Exec(e.ctx, sql)
	return err
}

// rotateMultiUser does what the AWS multi-user PostgreSQL rotation function
// does (createSecret, setSecret, testSecret, finishSecret): the pending
// secret names the other user of the pair (user / user_clone) with a new
// password; as the master, the clone is created on first use and granted
// the current user's role, otherwise only its password changes; then the
// pending version becomes AWSCURRENT.
func (e *env) rotateMultiUser(arn string) {
	cur := e.current(arn)
	pending := cur
	if base, ok := strings.CutSuffix(cur.Username, "_clone"); ok {
		pending.Username = base
	} else {
		pending.Username = cur.Username + "_clone"
	}
	e.n++
	pending.Password = fmt.Sprintf("rotated-%d-%s", e.n, strings.Repeat("x", 20))
	master := e.current(cur.MasterARN)
	conn, err := pg.Connect(e.ctx, master.Username, master.Password, "postgres")
	require.NoError(e.t, err)
	defer conn.Close(e.ctx)
	var exists bool
	require.NoError(e.t, conn.QueryRow(e.ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", pending.Username).Scan(&exists))
	user, current := pgx.Identifier{pending.Username}.Sanitize(), pgx.Identifier{cur.Username}.Sanitize()
	if !exists {
		_, err = conn.Exec(e.ctx, fmt.Sprintf("CREATE ROLE %s WITH LOGIN PASSWORD '%s'", user, pending.Password))
		require.NoError(e.t, err)
		_, err = conn.Exec(e.ctx, fmt.Sprintf("GRANT %s TO %s", current, user))
		require.NoError(e.t, err)
	} else {
		_, err = conn.Exec(e.ctx, fmt.Sprintf("ALTER USER %s WITH PASSWORD '%s'", user, pending.Password))
		require.NoError(e.t, err)
	}
	e.setCurrent(arn, pending)
}

// rotateSingleUser is the single-user rotation of a master: the user
// changes its own password, then the secret is updated.
func (e *env) rotateSingleUser(arn string) {
	cur := e.current(arn)
	conn, err := pg.Connect(e.ctx, cur.Username, cur.Password, "postgres")
	require.NoError(e.t, err)
	defer conn.Close(e.ctx)
	e.n++
	next := cur
	next.Password = fmt.Sprintf("master-rotated-%d-%s", e.n, strings.Repeat("y", 20))
	_, err = conn.Exec(e.ctx, fmt.Sprintf("ALTER USER %s WITH PASSWORD '%s'", pgx.Identifier{cur.Username}.Sanitize(), next.Password))
	require.NoError(e.t, err)
	e.setCurrent(arn, next)
}

func (e *env) service(name string) func() string {
	_, err := e.ecs.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("platform")})
	require.NoError(e.t, err)
	td, err := e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String(name),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String(name), Image: aws.String("public.ecr.aws/docker/library/busybox:1.36"), Memory: aws.Int32(128)}},
	})
	require.NoError(e.t, err)
	_, err = e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("platform"), ServiceName: aws.String(name), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)})
	require.NoError(e.t, err)
	return func() string {
		out, err := e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("platform"), Services: []string{name}})
		require.NoError(e.t, err)
		return aws.ToString(out.Services[0].Deployments[0].Id)
	}
}

func event(secretArn string) json.RawMessage {
	raw, _ := json.Marshal(map[string]any{
		"detail-type": "AWS Service Event via CloudTrail", "source": "aws.secretsmanager", "resources": []string{},
		"detail": map[string]any{"eventSource": "secretsmanager.amazonaws.com", "eventName": "RotationSucceeded", "additionalEventData": map[string]any{"SecretId": secretArn}},
	})
	return raw
}

// injected is a consumer that ECS gives its secret at task start.
type injected struct {
	service, database, secret string
	deployment                func() string
}

func TestEveryRotationLeavesEveryConsumerLoggedIn(t *testing.T) {
	ctx := context.Background()
	opts := func(o *secretsmanager.Options) {}
	awsCreds := credentials.NewStaticCredentialsProvider("testing", "testing", "")
	e := &env{t: t, ctx: ctx,
		sm:  secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(motoURL), Credentials: awsCreds}, opts),
		ecs: ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(motoURL), Credentials: awsCreds}),
	}
	// RDS's master may grant these predefined roles (rds_superuser holds
	// them with ADMIN OPTION); the test master gets the same.
	super, err := pg.Connect(ctx, "postgres", pg.SuperPassword, "postgres")
	require.NoError(t, err)
	_, err = super.Exec(ctx, "GRANT pg_monitor, pg_read_all_data TO "+pg.AdminUser+" WITH ADMIN OPTION")
	require.NoError(t, err)
	_, err = super.Exec(ctx, "CREATE TABLE studio_probe (id int); INSERT INTO studio_probe VALUES (42)")
	require.NoError(t, err)
	super.Close(ctx)

	master := e.put("primary-master", creds{Username: pg.AdminUser, Password: pg.AdminPassword, Host: pg.Host, Port: pg.Port})
	kong := e.put("kong-login", creds{Username: "kong", Password: "kong-initial-password-0123456789", MasterARN: master})
	tm := e.put("tenant-manager-login", creds{Username: "tenant_manager", Password: "tm-initial-password-0123456789", MasterARN: master})
	meta := e.put("postgres-meta-login", creds{Username: "postgres_meta", Password: "meta-initial-password-0123456789", MasterARN: master})

	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	a := &admin.Admin{Secrets: e.sm, Instances: map[string]string{"primary": master}, TLS: admin.TLS{Mode: "disable"}}
	require.NoError(t, a.Bootstrap(ctx, admin.BootstrapProps{MasterSecretArn: master, KongSecretArn: kong, TenantManagerSecretArn: tm}, log))
	granted, err := a.EnsureLogin(ctx, admin.LoginProps{MasterSecretArn: master, LoginSecretArn: meta, Role: "postgres_meta", MemberOf: []string{"pg_monitor", "pg_read_all_data"}}, log)
	require.NoError(t, err)
	require.Equal(t, []string{"pg_monitor", "pg_read_all_data"}, granted)

	// A deployment from before clones acted as their role: its Kong
	// migrations ran as kong_clone and left a table owned by it. The next
	// bootstrap hands it back to kong.
	super, err = pg.Connect(ctx, "postgres", pg.SuperPassword, "kong")
	require.NoError(t, err)
	_, err = super.Exec(ctx, "CREATE TABLE legacy_migration (id int); ALTER TABLE legacy_migration OWNER TO kong_clone")
	require.NoError(t, err)
	require.NoError(t, a.Bootstrap(ctx, admin.BootstrapProps{MasterSecretArn: master, KongSecretArn: kong, TenantManagerSecretArn: tm}, log))
	var owner string
	require.NoError(t, super.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE tablename = 'legacy_migration'").Scan(&owner))
	require.Equal(t, "kong", owner)
	super.Close(ctx)

	consumers := []*injected{
		{service: "kong", database: "kong", secret: kong},
		{service: "postgres-meta", database: "postgres", secret: meta},
	}
	redeploy := map[string][]admin.ServiceRef{}
	for _, c := range consumers {
		c.deployment = e.service(c.service)
		redeploy[c.secret] = []admin.ServiceRef{{Cluster: "platform", Service: c.service}}
	}
	h := &admin.Handler{Admin: a, Redeploy: &admin.Redeployer{ECS: e.ecs, Consumers: redeploy}, Log: log}

	// A task holds what the secret said when it started.
	running := map[string]creds{}
	for _, c := range consumers {
		running[c.service] = e.current(c.secret)
		require.NoError(t, e.login(running[c.service], c.database), c.service)
	}
	var neverRedeployed creds // a Kong task nobody restarts, to show why the redeploy is needed
	neverRedeployed = running["kong"]

	for round := 1; round <= 3; round++ {
		e.rotateSingleUser(master)
		for _, c := range consumers {
			e.rotateMultiUser(c.secret)
		}
		e.rotateMultiUser(tm)

		// Read at run time: db-admin and the tenant-manager log in with
		// whatever the secret holds now.
		resp := a.Handle(ctx, admin.Request{Operation: "list_databases", Instance: "primary"})
		require.Nil(t, resp.Error, "db-admin after the master rotation (round %d)", round)
		require.NoError(t, e.login(e.current(tm), "supabase_platform"), "tenant-manager (round %d)", round)

		// Whatever a service creates under whichever login it holds is
		// owned by its role, so the next rotation's login can use it.
		k := running["kong"]
		require.NoError(t, e.exec(k, "kong", fmt.Sprintf("CREATE TABLE made_in_round_%d (id int); INSERT INTO made_in_round_%d VALUES (%d)", round, round, round)), "kong task (round %d)", round)
		require.NoError(t, e.exec(e.current(tm), "supabase_platform", fmt.Sprintf("CREATE TABLE made_in_round_%d (id int)", round)), "tenant-manager (round %d)", round)

		for _, c := range consumers {
			// Until its redeploy finishes, a task started before the
			// rotation still logs in: the rotation changed the other user.
			require.NoError(t, e.login(running[c.service], c.database), "%s task before its redeploy (round %d)", c.service, round)
			before := c.deployment()
			_, err := h.Invoke(ctx, event(c.secret))
			require.NoError(t, err)
			require.NotEqual(t, before, c.deployment(), "%s was not redeployed after round %d", c.service, round)
			// The new deployment's tasks read the secret at start.
			running[c.service] = e.current(c.secret)
			require.NoError(t, e.login(running[c.service], c.database), "%s task after its redeploy (round %d)", c.service, round)
		}
		if round >= 2 {
			require.Error(t, e.login(neverRedeployed, "kong"), "a task that is never redeployed loses its login at the second rotation")
		}
		// The tables of every round so far, made under both users of each
		// pair, belong to the role and serve the login of this round.
		for r := 1; r <= round; r++ {
			require.NoError(t, e.exec(running["kong"], "kong", fmt.Sprintf("INSERT INTO made_in_round_%d SELECT count(*) FROM made_in_round_%d", r, r)), "kong, round %d's table in round %d", r, round)
			require.NoError(t, e.exec(e.current(tm), "supabase_platform", fmt.Sprintf("INSERT INTO made_in_round_%d VALUES (1)", r)), "tenant-manager, round %d's table in round %d", r, round)
		}
	}
	owners, err := pg.Connect(ctx, "postgres", pg.SuperPassword, "kong")
	require.NoError(t, err)
	defer owners.Close(ctx)
	var clones int
	require.NoError(t, owners.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tableowner LIKE '%\\_clone'").Scan(&clones))
	require.Zero(t, clones, "no table of kong's database is owned by a clone")

	// postgres-meta keeps its read rights through the clone it may be
	// logged in as now.
	m := running["postgres-meta"]
	conn, err := pg.Connect(ctx, m.Username, m.Password, "postgres")
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v int
	require.NoError(t, conn.QueryRow(ctx, "SELECT id FROM studio_probe").Scan(&v))
	require.Equal(t, 42, v)
	_, err = conn.Exec(ctx, "INSERT INTO studio_probe VALUES (1)")
	require.Error(t, err, "postgres-meta's login is read-only")
}
