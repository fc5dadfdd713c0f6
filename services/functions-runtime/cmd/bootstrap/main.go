// Command bootstrap is the entrypoint of the edge functions Lambda image:
// it fetches the project's functions and environment from the
// tenant-manager, unpacks the bundles and execs Deno with the router,
// which the Lambda Web Adapter then fronts.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/callerid/fetch"

	"github.com/supabase-on-aws/supabase-on-aws/services/functions-runtime/internal/runtime"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(context.Background(), logger); err != nil {
		logger.Error("bootstrap failed", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *slog.Logger) error {
	s, err := runtime.SettingsFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading AWS configuration: %w", err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.Budget)
	defer cancel()
	f := &runtime.Fetcher{Project: fetch.ForLambda(awsCfg.Credentials, s.ServiceURL, s.STSEndpoint, s.Region, s.ProjectID)}
	c, err := runtime.FetchWithRetry(ctx, f)
	if err != nil {
		return fmt.Errorf("project %s: fetching the functions configuration: %w", s.ProjectID, err)
	}
	manifest, err := runtime.Prepare(ctx, &http.Client{Timeout: s.Budget}, c, s.FunctionsDir)
	if manifest == "" {
		return fmt.Errorf("project %s: preparing functions: %w", s.ProjectID, err)
	}
	if err != nil {
		// The functions that failed answer 503; the others serve.
		logger.Error("some functions could not be loaded", "project_id", s.ProjectID, "error", err.Error())
	}
	for _, d := range []string{s.ScratchDir, s.DenoDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	logger.Info("functions prepared", "project_id", s.ProjectID, "functions", len(c.Functions), "duration_ms", time.Since(start).Milliseconds())
	env := runtime.Environ(os.Environ(), s)
	envFile, err := runtime.WriteEnvFile(s.FunctionsDir, runtime.ProjectEnv(c, env))
	if err != nil {
		return fmt.Errorf("project %s: writing the functions' environment: %w", s.ProjectID, err)
	}
	args := runtime.DenoArgs(s, manifest, envFile)
	if err := syscall.Exec(s.DenoPath, args, env); err != nil {
		return fmt.Errorf("exec %s: %w", s.DenoPath, err)
	}
	return nil
}
