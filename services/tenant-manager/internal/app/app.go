// Package app wires the tenant-manager from its configuration: platform
// database (migrated at start), workers, Kong, Lambda, Redis, STS.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/alarms"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/api"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/callerid"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/dbsecret"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/kongadmin"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/secretbox"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/sqlapi"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/store"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/usage"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/worker"
)

// App is a running tenant-manager minus its HTTP listener.
type App struct {
	Service *provision.Service
	Server  *api.Server
	closers []func()
	// starting counts the passes a start runs once in the background
	// (tenant guards, alarms, the fleet's start run); tests wait for them
	// so that none runs into what a test does next.
	starting sync.WaitGroup
}

// Close releases pools and clients.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

type redisCache struct{ c *redis.Client }

func (r redisCache) Del(ctx context.Context, keys ...string) error {
	return r.c.Del(ctx, keys...).Err()
}

func (r redisCache) EvalConfig(ctx context.Context, key string, doc []byte, version int64, ttlSeconds int) (bool, error) {
	n, err := r.c.Eval(ctx, provision.ConfigCacheScript, []string{key}, string(doc), version, ttlSeconds).Int64()
	return n == 1, err
}

// New connects everything; on error nothing is left open.
func New(ctx context.Context, cfg *config.Config, awsCfg aws.Config, log *slog.Logger) (_ *App, err error) {
	a := &App{}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	box, err := secretbox.New(cfg.EncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTION_KEY: %w", err)
	}
	gatewayRole, ok := callerid.IAMRole(cfg.GatewayRoleARN)
	if !ok {
		return nil, fmt.Errorf("GATEWAY_ROLE_ARN: not an IAM role ARN")
	}
	tenantRole, ok := callerid.IAMRole(cfg.TenantLambdaRoleARN)
	if !ok {
		return nil, fmt.Errorf("TENANT_LAMBDA_ROLE_ARN: not an IAM role ARN")
	}

	// Every AWS SDK attempt (Lambda, Secrets Manager) gets a deadline; the
	// Lambda Active waiter is bounded separately (LambdaActive).
	awsCfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(cfg.Timeouts.AWS)
	sm := secretsmanager.NewFromConfig(awsCfg)
	pcfg, err := pgxpool.ParseConfig(cfg.PlatformDatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("PLATFORM_DATABASE_URL: invalid connection settings")
	}
	if cfg.PlatformDatabaseSecretArn != "" {
		(&dbsecret.Source{Secrets: sm, ARN: cfg.PlatformDatabaseSecretArn, TTL: time.Minute}).Pool(pcfg)
	}
	// Background jobs each hold a connection while they query through the
	// pool (store.MinPoolConns says why): fewer would hang the task, so a
	// smaller pool_max_conns (or pgxpool's default) is raised.
	pcfg.MaxConns = max(pcfg.MaxConns, store.MinPoolConns())
	platform, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("PLATFORM_DATABASE_URL: %w", err)
	}
	a.closers = append(a.closers, platform.Close)
	if err := store.Migrate(ctx, platform); err != nil {
		return nil, fmt.Errorf("platform database: %w", err)
	}
	st := &store.Store{Pool: platform}

	workers := map[string]provision.TenantDB{}
	sqlWorkers := map[string]*worker.Worker{}
	var rows []store.WorkerRow
	for _, w := range cfg.Workers {
		dsn := (&url.URL{Scheme: "postgres", User: url.UserPassword(w.User, w.Password), Host: net.JoinHostPort(w.Host, strconv.Itoa(w.Port)),
			Path: "/postgres", RawQuery: "sslmode=" + url.QueryEscape(w.SSLMode) + "&application_name=tenant-manager"}).String()
		pcfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("WORKERS %s: invalid connection settings", w.ID)
		}
		pcfg.MaxConns = 8
		connect := func(ctx context.Context, database string) (*pgx.Conn, error) {
			cc := pcfg.ConnConfig.Copy()
			cc.Database = database
			return pgx.ConnectConfig(ctx, cc)
		}
		if w.SecretArn != "" {
			// The master secret rotates: read it now (so a bad ARN stops
			// the start) and before new connections.
			src := &dbsecret.Source{Secrets: sm, ARN: w.SecretArn, TTL: time.Minute}
			if _, _, err := src.Credentials(ctx); err != nil {
				return nil, fmt.Errorf("WORKERS %s: %w", w.ID, err)
			}
			src.Pool(pcfg)
			connect = func(ctx context.Context, database string) (*pgx.Conn, error) {
				cc := pcfg.ConnConfig.Copy()
				cc.Database = database
				return src.Connect(ctx, cc)
			}
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, fmt.Errorf("WORKERS %s: %w", w.ID, err)
		}
		a.closers = append(a.closers, pool.Close)
		workers[w.ID] = &worker.Worker{ID: w.ID, Pool: pool, Connect: connect, Log: log}
		sqlWorkers[w.ID] = workers[w.ID].(*worker.Worker)
		rows = append(rows, store.WorkerRow{ID: w.ID, Endpoint: w.Host, Port: w.Port, MaxTenants: w.MaxTenants})
	}
	if err := st.SyncWorkers(ctx, rows); err != nil {
		return nil, fmt.Errorf("syncing workers: %w", err)
	}

	rotation, err := provision.RotationSettingsFromEnv(cfg.Getenv)
	if err != nil {
		return nil, err
	}
	alarmSettings, err := alarms.SettingsFromEnv(cfg.Getenv, cfg.LambdaTimeoutSec)
	if err != nil {
		return nil, err
	}
	cw := cloudwatch.NewFromConfig(awsCfg, cloudWatchOptions...)
	ropts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// A Redis that accepts but never answers fails the call instead of
	// hanging; context deadlines are honoured as well.
	ropts.DialTimeout = cfg.Timeouts.RedisDial
	ropts.ReadTimeout = cfg.Timeouts.RedisIO
	ropts.WriteTimeout = cfg.Timeouts.RedisIO
	ropts.PoolTimeout = cfg.Timeouts.RedisIO + time.Second
	ropts.ContextTimeoutEnabled = true
	rc := redis.NewClient(ropts)
	a.closers = append(a.closers, func() { rc.Close() })

	a.Service = &provision.Service{
		Store:   st,
		Box:     box,
		Workers: workers,
		Functions: &lambdas.Client{API: lambda.NewFromConfig(awsCfg), Settings: lambdas.Settings{
			ImageURI: cfg.PostgrestImageURI, RoleARN: cfg.TenantLambdaRoleARN,
			SubnetIDs: cfg.SubnetIDs, SecurityGroupIDs: cfg.SecurityGroupIDs,
			MemoryMiB: int32(cfg.LambdaMemoryMiB), TimeoutSeconds: int32(cfg.LambdaTimeoutSec),
			ConfigServiceURL: cfg.ConfigServiceURL, STSEndpoint: cfg.STSEndpoint,
			ActiveTimeout: cfg.Timeouts.LambdaActive,
		}},
		Gateway:  &kongadmin.Client{BaseURL: cfg.KongAdminURL, HTTP: &http.Client{}, Timeout: cfg.Timeouts.Kong},
		Cache:    redisCache{rc},
		Rotation: rotation,
		Log:      log,
	}
	if err := a.wireControls(awsCfg, cfg.Getenv); err != nil {
		return nil, err
	}
	if alarmSettings.Enabled() {
		a.Service.Alarms = &alarms.Manager{API: cw, Settings: alarmSettings}
	}
	// The retire loop runs until Close, which stops it before the pools
	// close (closers run in reverse).
	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		a.Service.RetireLoop(loopCtx, rotation.RetireInterval)
	}()
	a.closers = append(a.closers, func() { stopLoop(); <-loopDone })
	startAlarmSync(a, log)
	a.Server = &api.Server{
		Service:     a.Service,
		AdminToken:  cfg.AdminToken,
		Verifier:    &callerid.Verifier{STSEndpoint: cfg.STSEndpoint, HTTP: &http.Client{Timeout: cfg.Timeouts.STS}},
		GatewayRole: gatewayRole,
		TenantRole:  tenantRole,
		Ready:       func(ctx context.Context) error { return platform.Ping(ctx) },
		Log:         log,

		ProvisionTimeout: cfg.Timeouts.Provision,
		Region:           cfg.Region,
		Usage:            &usage.Reader{API: cw, Namespace: alarmSettings.Namespace},
	}
	sqlService := &sqlapi.Service{Platform: platform, Box: box, Workers: sqlWorkers, Limits: cfg.SQL, Log: log}
	a.closers = append(a.closers, sqlService.Close)
	startSweep(a, sqlWorkers, sweepLimits(cfg.SQL.StatementTimeout, a.Service.Controls), log)
	startControlSync(a)
	a.Server.SQL = sqlService
	if err := a.wireFunctions(cfg, awsCfg); err != nil {
		return nil, err
	}
	startFleet(a, cfg, log)
	return a, nil
}
