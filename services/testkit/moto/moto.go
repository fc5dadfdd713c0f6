// Package moto runs a local moto_server for tests that use AWS APIs.
package moto

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"time"
)

// Server is a running moto_server on loopback.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// Start launches moto_server on a free port and waits until it answers.
func Start() (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("moto_server (scripts/setup.sh installs it): %w", err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(s.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return s, nil
		}
	}
	s.Stop()
	return nil, errors.New("moto_server did not answer within 30 s")
}

// Stop ends the server.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}
