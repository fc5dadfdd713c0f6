// Package apikey makes and checks the platform's opaque API keys:
// sb_publishable_<22 random base64url>_<8 checksum> and sb_secret_<22>_<8>.
// The checksum is the first 8 base64url characters of
// SHA-256("project_id|" + prefix + random), so a key can be checked offline
// without the database. Only the prefix (type + first characters) and the
// SHA-256 of the whole key are stored.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Types of key and the role each maps to.
const (
	Publishable = "publishable"
	Secret      = "secret"
)

// RoleOf is the database role a key type acts as.
func RoleOf(keyType string) string {
	if keyType == Secret {
		return "service_role"
	}
	return "anon"
}

var keyRe = regexp.MustCompile(`^sb_(publishable|secret)_([A-Za-z0-9_-]{22})_([A-Za-z0-9_-]{8})$`)

// Key is a freshly generated key: Full is shown once and never stored.
type Key struct {
	Type   string
	Full   string
	Prefix string // stored: identifies the key in listings, e.g. sb_publishable_AbC1
	Hash   string // stored: hex SHA-256 of Full
}

func checksum(projectID, body string) string {
	sum := sha256.Sum256([]byte(projectID + "|" + body))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:8]
}

// New generates a key of keyType for projectID.
func New(projectID, keyType string) (Key, error) {
	if keyType != Publishable && keyType != Secret {
		return Key{}, fmt.Errorf("key type must be %q or %q", Publishable, Secret)
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return Key{}, err
	}
	random := base64.RawURLEncoding.EncodeToString(raw)[:22]
	body := "sb_" + keyType + "_" + random
	full := body + "_" + checksum(projectID, body)
	return Key{Type: keyType, Full: full, Prefix: body[:len("sb_"+keyType+"_")+4], Hash: Hash(full)}, nil
}

// Hash is the stored form of a key.
func Hash(full string) string {
	sum := sha256.Sum256([]byte(full))
	return hex.EncodeToString(sum[:])
}

// ErrMalformed and ErrChecksum are what Check reports.
var (
	ErrMalformed = errors.New("not an API key: expected sb_publishable_<22 chars>_<8 chars> or sb_secret_<22 chars>_<8 chars>")
	ErrChecksum  = errors.New("API key checksum does not match this project: the key is mistyped or belongs to another project")
)

// Check verifies a key's shape and checksum offline and returns its type.
func Check(projectID, full string) (string, error) {
	m := keyRe.FindStringSubmatch(full)
	if m == nil {
		return "", ErrMalformed
	}
	body := strings.TrimSuffix(full, "_"+m[3])
	if subtle.ConstantTimeCompare([]byte(checksum(projectID, body)), []byte(m[3])) != 1 {
		return "", ErrChecksum
	}
	return m[1], nil
}
