// Package secretbox encrypts secrets at rest (JWT secrets, tenant database
// passwords) with AES-256-GCM. The associated data binds a ciphertext to
// its project and column, so a value copied to another row or column does
// not decrypt: the idea of Supabase Vault, with the key held outside the
// database.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// Box seals and opens values with one 256-bit key.
type Box struct{ aead cipher.AEAD }

// New takes the 32-byte key as standard base64 or as 64 hex digits (what
// Secrets Manager can generate).
func New(encoded string) (*Box, error) {
	key, err := base64.StdEncoding.DecodeString(encoded)
	if len(encoded) == 64 {
		key, err = hex.DecodeString(encoded)
	}
	if err != nil || len(key) != 32 {
		return nil, errors.New("must be 32 random bytes as standard base64 (openssl rand -base64 32) or 64 hex digits (openssl rand -hex 32)")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

func aad(projectID, column string) []byte { return []byte(projectID + "\x00" + column) }

// Seal returns nonce||ciphertext.
func (b *Box) Seal(projectID, column string, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return b.aead.Seal(nonce, nonce, plaintext, aad(projectID, column)), nil
}

// Open reverses Seal; it fails for a value sealed for another project or
// column, or tampered with.
func (b *Box) Open(projectID, column string, sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, errors.New("secretbox: ciphertext too short")
	}
	pt, err := b.aead.Open(nil, sealed[:n], sealed[n:], aad(projectID, column))
	if err != nil {
		return nil, fmt.Errorf("secretbox: cannot decrypt %s of project %s (wrong key, project or column, or tampered)", column, projectID)
	}
	return pt, nil
}
