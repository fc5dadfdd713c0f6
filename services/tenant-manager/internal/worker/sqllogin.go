package worker

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
)

// OwnerConnectionLimit caps the sessions of a tenant's owner login (the
// management API's SQL endpoints), across all tenant-manager tasks.
const OwnerConnectionLimit = 10

// EnableOwnerLogin lets the tenant's owner role log in with password, so
// the SQL endpoints run as a session user that holds exactly the owner's
// rights: RESET ROLE or SET ROLE cannot reach the master or anything else.
// Only a SCRAM verifier is sent, so the password never appears in server
// logs or statistics. The master also gets the owner's privileges (not
// only SET), which PostgreSQL requires to end the owner's sessions when
// the tenant is deprovisioned.
func (w *Worker) EnableOwnerLogin(ctx context.Context, projectID, password string) error {
	owner := ident(OwnerRole(projectID))
	verifier, err := scramVerifier(password)
	if err != nil {
		return err
	}
	var master string
	var version int
	if err := w.Pool.QueryRow(ctx, "SELECT current_user, current_setting('server_version_num')::int").Scan(&master, &version); err != nil {
		return err
	}
	stmts := []string{"ALTER ROLE " + owner + " LOGIN CONNECTION LIMIT " + strconv.Itoa(OwnerConnectionLimit) + " PASSWORD " + literal(verifier)}
	if version >= 160000 {
		stmts = append(stmts, "GRANT "+owner+" TO "+ident(master)+" WITH INHERIT TRUE")
	}
	for _, s := range stmts {
		if _, err := w.Pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("worker %s: %s: %w", w.ID, redact(s), err)
		}
	}
	return nil
}

// scramVerifier computes the SCRAM-SHA-256 verifier PostgreSQL stores for
// password (RFC 5802/7677, 4096 iterations, as the server computes it).
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	const iterations = 4096
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	server := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(server)), nil
}
