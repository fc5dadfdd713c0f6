// Command tenant-manager is the platform's control plane.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/app"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
)

func main() {
	// "tenant-manager healthcheck" is the container health check: the
	// image has no shell or curl.
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck())
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(log); err != nil {
		fmt.Fprintln(os.Stderr, "tenant-manager:", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	a, err := app.New(startCtx, cfg, awsCfg, log)
	cancel()
	if err != nil {
		return err
	}
	defer a.Close()
	servers := []*http.Server{
		app.HTTPServer(cfg.ListenAddr, a.Server.PublicHandler(), cfg.Timeouts, log),
		app.HTTPServer(cfg.InternalListenAddr, a.Server.InternalHandler(), cfg.Timeouts, log),
	}
	errc := make(chan error, len(servers))
	for _, srv := range servers {
		go func() { errc <- srv.ListenAndServe() }()
	}
	log.Info("tenant-manager listening", "addr", cfg.ListenAddr, "internal_addr", cfg.InternalListenAddr)
	var runErr error
	select {
	case err := <-errc:
		// One listener failed (e.g. its port is taken): stop the other too.
		runErr = err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdown); err != nil && runErr == nil {
			runErr = err
		}
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	return runErr
}

// healthcheck asks both listeners: the gateway and the tenant functions
// depend on the internal one as much as operators on the public one.
func healthcheck() int {
	client := &http.Client{Timeout: 2 * time.Second}
	for _, l := range []struct{ env, def string }{{"LISTEN_ADDR", ":8080"}, {"INTERNAL_LISTEN_ADDR", ":8081"}} {
		addr := os.Getenv(l.env)
		if addr == "" {
			addr = l.def
		}
		if addr[0] == ':' {
			addr = "127.0.0.1" + addr
		}
		resp, err := client.Get("http://" + addr + "/health")
		if err != nil {
			fmt.Fprintln(os.Stderr, "healthcheck:", err)
			return 1
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintln(os.Stderr, "healthcheck:", addr, "HTTP", resp.StatusCode)
			return 1
		}
	}
	return 0
}
