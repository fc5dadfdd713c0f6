// Package blackhole is a TCP listener on loopback that accepts connections
// and never answers: a hung server, for tests of deadlines and timeouts.
package blackhole

import (
	"net"
	"sync"
	"testing"
)

// Listen starts one and returns its host:port; the test's cleanup closes it
// and every connection it accepted.
func Listen(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("blackhole: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
