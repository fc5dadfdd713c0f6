package api

import (
	"fmt"
	"sync"
)

// maxConcurrentDeploys bounds the deploys one tenant-manager task runs at
// once: a deploy holds its files (up to FUNCTIONS_MAX_BUNDLE_BYTES) and
// the bundle built from them in memory.
const maxConcurrentDeploys = 4

// deployGate admits one deploy per project and maxConcurrentDeploys in
// all. It is taken before the request body is read, so refused requests
// cost no memory. The zero value is ready to use.
type deployGate struct {
	mu      sync.Mutex
	running map[string]bool
}

// acquire admits a deploy of project ref or says why not (409 while the
// project has one running, 503 when the task is full); release ends it.
func (g *deployGate) acquire(ref string) (release func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running[ref] {
		return nil, conflict("deploy_in_progress", fmt.Sprintf("project %s has a function deploy or change in progress; retry when it ends", ref))
	}
	if len(g.running) >= maxConcurrentDeploys {
		return nil, unavailable("too_many_deploys", fmt.Sprintf("this server runs at most %d function deploys at once; retry shortly", maxConcurrentDeploys))
	}
	if g.running == nil {
		g.running = map[string]bool{}
	}
	g.running[ref] = true
	return func() {
		g.mu.Lock()
		delete(g.running, ref)
		g.mu.Unlock()
	}, nil
}
