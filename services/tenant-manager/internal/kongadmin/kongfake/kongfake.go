// Package kongfake is an in-memory Kong Admin API for tests. Kong itself
// cannot run here; this follows its documented contract for the endpoints
// the tenant-manager uses: POST /consumers (201, 409 on a taken username),
// GET/DELETE /consumers/{username or id} (DELETE answers 204 and removes
// the consumer's plugins' credentials), POST /consumers/{c}/key-auth (201
// with the credential; 409 when the key is taken anywhere), DELETE
// /consumers/{c}/key-auth/{id} (204), POST /consumers/{c}/acls (201, 409 if
// the consumer is in the group), and 404 for an unknown consumer.
package kongfake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

type consumer struct {
	ID       string
	Username string
	Keys     map[string]string // credential id -> key
	ACLs     map[string]bool
}

// Kong is the fake; Server is its HTTP endpoint.
type Kong struct {
	mu        sync.Mutex
	consumers map[string]*consumer // by username
	keys      map[string]string    // key -> username
	// Down makes every call fail as if Kong were unreachable (503).
	Down bool
	// FailPaths makes calls whose "METHOD path" starts with a prefix answer 500.
	FailPaths []string
	Server    *httptest.Server
}

// New starts a fake Admin API.
func New() *Kong {
	k := &Kong{consumers: map[string]*consumer{}, keys: map[string]string{}}
	k.Server = httptest.NewServer(http.HandlerFunc(k.serve))
	return k
}

func (k *Kong) Close() { k.Server.Close() }

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

func (k *Kong) find(idOrName string) *consumer {
	if c, ok := k.consumers[idOrName]; ok {
		return c
	}
	for _, c := range k.consumers {
		if c.ID == idOrName {
			return c
		}
	}
	return nil
}

func (k *Kong) serve(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.Down {
		reply(w, http.StatusServiceUnavailable, map[string]string{"message": "unavailable"})
		return
	}
	for _, p := range k.FailPaths {
		if strings.HasPrefix(r.Method+" "+r.URL.Path, p) {
			reply(w, http.StatusInternalServerError, map[string]string{"message": "An unexpected error occurred"})
			return
		}
	}
	var body map[string]string
	if r.Body != nil && r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			reply(w, http.StatusBadRequest, map[string]string{"message": "Cannot parse JSON body"})
			return
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "consumers" && r.Method == http.MethodPost:
		name := body["username"]
		if name == "" {
			reply(w, http.StatusBadRequest, map[string]string{"message": "schema violation (username: required)"})
			return
		}
		if _, ok := k.consumers[name]; ok {
			reply(w, http.StatusConflict, map[string]string{"message": "UNIQUE violation detected on '{username=\"" + name + "\"}'"})
			return
		}
		c := &consumer{ID: uuid(), Username: name, Keys: map[string]string{}, ACLs: map[string]bool{}}
		k.consumers[name] = c
		reply(w, http.StatusCreated, map[string]string{"id": c.ID, "username": name})
	case len(parts) == 2 && parts[0] == "consumers":
		c := k.find(parts[1])
		switch r.Method {
		case http.MethodGet:
			if c == nil {
				reply(w, http.StatusNotFound, map[string]string{"message": "Not found"})
				return
			}
			reply(w, http.StatusOK, map[string]string{"id": c.ID, "username": c.Username})
		case http.MethodDelete:
			if c != nil {
				for _, key := range c.Keys {
					delete(k.keys, key)
				}
				delete(k.consumers, c.Username)
			}
			reply(w, http.StatusNoContent, nil)
		default:
			reply(w, http.StatusMethodNotAllowed, nil)
		}
	case len(parts) >= 3 && parts[0] == "consumers" && (parts[2] == "key-auth" || parts[2] == "acls"):
		c := k.find(parts[1])
		if c == nil {
			reply(w, http.StatusNotFound, map[string]string{"message": "Not found"})
			return
		}
		switch {
		case parts[2] == "key-auth" && len(parts) == 3 && r.Method == http.MethodPost:
			key := body["key"]
			if _, taken := k.keys[key]; taken {
				reply(w, http.StatusConflict, map[string]string{"message": "UNIQUE violation detected on '{key=...}'"})
				return
			}
			id := uuid()
			c.Keys[id], k.keys[key] = key, c.Username
			reply(w, http.StatusCreated, map[string]string{"id": id, "key": key})
		case parts[2] == "key-auth" && len(parts) == 4 && r.Method == http.MethodDelete:
			if key, ok := c.Keys[parts[3]]; ok {
				delete(k.keys, key)
				delete(c.Keys, parts[3])
			}
			reply(w, http.StatusNoContent, nil)
		case parts[2] == "acls" && len(parts) == 3 && r.Method == http.MethodPost:
			g := body["group"]
			if c.ACLs[g] {
				reply(w, http.StatusConflict, map[string]string{"message": "UNIQUE violation"})
				return
			}
			c.ACLs[g] = true
			reply(w, http.StatusCreated, map[string]string{"id": uuid(), "group": g})
		default:
			reply(w, http.StatusMethodNotAllowed, nil)
		}
	default:
		reply(w, http.StatusNotFound, map[string]string{"message": "Not found"})
	}
}

// Consumer describes a consumer for assertions: nil when absent.
type Consumer struct {
	Keys []string
	ACLs []string
}

func (k *Kong) Consumer(username string) *Consumer {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.consumers[username]
	if !ok {
		return nil
	}
	out := &Consumer{}
	for _, key := range c.Keys {
		out.Keys = append(out.Keys, key)
	}
	for g := range c.ACLs {
		out.ACLs = append(out.ACLs, g)
	}
	return out
}

// Count is the number of consumers.
func (k *Kong) Count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.consumers)
}
