package runtime

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// Limits of one bundle: compressed download and unpacked files.
const (
	maxBundleBytes   = 64 << 20
	maxUnpackedBytes = 256 << 20
	maxFiles         = 2000
)

// cleanRel refuses paths that could leave the function's directory.
func cleanRel(p string) (string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || strings.ContainsRune(p, 0) {
		return "", errors.New("not a relative path")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", errors.New("the path leaves the bundle")
		}
	}
	c := path.Clean(p)
	if c == "." || strings.HasPrefix(c, "../") {
		return "", errors.New("the path leaves the bundle")
	}
	return c, nil
}

// download reads a bundle and checks its digest: a URL that served
// anything else (another object, a truncated one) is refused.
func download(ctx context.Context, client *http.Client, f Function) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.BundleURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL is a credential for a few minutes: not in the message.
		return nil, fmt.Errorf("downloading the bundle of %s: %w", f.Slug, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading the bundle of %s: HTTP %d", f.Slug, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBundleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("downloading the bundle of %s: %w", f.Slug, err)
	}
	if len(b) > maxBundleBytes {
		return nil, fmt.Errorf("the bundle of %s is larger than %d bytes", f.Slug, maxBundleBytes)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != f.SHA256 {
		return nil, fmt.Errorf("the bundle of %s does not match its SHA-256", f.Slug)
	}
	return b, nil
}

// unpack writes a bundle's regular files under dir; anything else (links,
// devices, paths leaving dir) fails the bundle.
func unpack(bundle []byte, dir string) error {
	gz, err := gzip.NewReader(bytes.NewReader(bundle))
	if err != nil {
		return fmt.Errorf("not a gzip bundle: %w", err)
	}
	tr := tar.NewReader(gz)
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the bundle: %w", err)
		}
		if n >= maxFiles {
			return fmt.Errorf("the bundle has more than %d files", maxFiles)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("the bundle holds %q, which is not a regular file", h.Name)
		}
		rel, err := cleanRel(h.Name)
		if err != nil {
			return fmt.Errorf("the bundle holds %q: %w", h.Name, err)
		}
		total += h.Size
		if h.Size < 0 || total > maxUnpackedBytes {
			return fmt.Errorf("the bundle unpacks to more than %d bytes", maxUnpackedBytes)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, io.LimitReader(tr, h.Size))
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// ManifestEntry is one function for the router.
type ManifestEntry struct {
	Slug       string `json:"slug"`
	Version    int    `json:"version"`
	Entrypoint string `json:"entrypoint"`
	VerifyJWT  bool   `json:"verify_jwt"`
}

// Prepare downloads and unpacks every function (four at a time) into
// dir/<slug>/v<version>, and writes dir/manifest.json for the router; it
// returns the manifest's path.
func Prepare(ctx context.Context, client *http.Client, c Config, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	entries := make([]ManifestEntry, len(c.Functions))
	errs := make([]error, len(c.Functions))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, f := range c.Functions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fdir := filepath.Join(dir, f.Slug, fmt.Sprintf("v%d", f.Version))
			if err := os.RemoveAll(fdir); err != nil {
				errs[i] = err
				return
			}
			b, err := download(ctx, client, f)
			if err == nil {
				err = unpack(b, fdir)
			}
			if err != nil {
				errs[i] = fmt.Errorf("function %s: %w", f.Slug, err)
				return
			}
			entry, _ := cleanRel(f.EntrypointPath)
			entries[i] = ManifestEntry{Slug: f.Slug, Version: f.Version, Entrypoint: filepath.Join(fdir, filepath.FromSlash(entry)), VerifyJWT: f.VerifyJWT}
		}()
	}
	wg.Wait()
	// A function whose bundle cannot be loaded answers 503 on its own;
	// the others still serve.
	ok := entries[:0]
	var failed []error
	for i, e := range entries {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			continue
		}
		ok = append(ok, e)
	}
	m, err := json.Marshal(map[string]any{"functions": ok, "failed": failedSlugs(c, errs)})
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(p, m, 0o644); err != nil {
		return "", err
	}
	return p, errors.Join(failed...)
}

func failedSlugs(c Config, errs []error) []string {
	out := []string{}
	for i, err := range errs {
		if err != nil {
			out = append(out, c.Functions[i].Slug)
		}
	}
	return out
}
