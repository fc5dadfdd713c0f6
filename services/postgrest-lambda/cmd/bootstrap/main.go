// Command bootstrap is the entrypoint of the PostgREST Lambda image: it
// fetches the tenant's configuration, exports PGRST_* and execs PostgREST,
// which the Lambda Web Adapter then fronts.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/supabase-on-aws/supabase-on-aws/services/callerid/fetch"
	"github.com/supabase-on-aws/supabase-on-aws/services/postgrest-lambda/internal/bootstrap"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(context.Background(), logger); err != nil {
		logger.Error("bootstrap failed", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *slog.Logger) error {
	s, err := bootstrap.SettingsFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading AWS configuration: %w", err)
	}
	var f bootstrap.Fetcher
	switch s.Source {
	case bootstrap.SourceService:
		f = &bootstrap.ServiceFetcher{Project: fetch.ForLambda(awsCfg.Credentials, s.ServiceURL, s.STSEndpoint, s.Region, s.ProjectID)}
	case bootstrap.SourceSecretsManager:
		f = &bootstrap.SecretsFetcher{Client: secretsmanager.NewFromConfig(awsCfg), ProjectID: s.ProjectID}
	}
	start := time.Now()
	c, err := bootstrap.FetchWithRetry(ctx, f, s.Budget)
	if err != nil {
		return fmt.Errorf("project %s: fetching PostgREST configuration from %s: %w", s.ProjectID, s.Source, err)
	}
	logger.Info("configuration fetched", "project_id", s.ProjectID, "source", s.Source, "duration_ms", time.Since(start).Milliseconds())
	env := bootstrap.Environ(os.Environ(), s, c)
	if err := syscall.Exec(s.PostgrestPath, []string{s.PostgrestPath}, env); err != nil {
		return fmt.Errorf("exec %s: %w", s.PostgrestPath, err)
	}
	return nil
}
