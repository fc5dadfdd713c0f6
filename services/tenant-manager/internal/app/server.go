package app

import (
	"log/slog"
	"net/http"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
)

// HTTPServer is one listener of the tenant-manager. Every phase of a
// request is bounded: slow headers or bodies, the handler plus its answer
// (the write timeout exceeds the provisioning bound plus the undo budget,
// which config checks), and idle keep-alive connections.
func HTTPServer(addr string, h http.Handler, t config.Timeouts, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
