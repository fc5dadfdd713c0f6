package callerid

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// fakeSTS answers GetCallerIdentity only when the request it receives is
// one AWS STS would accept: the fixed body, a known access key, the session
// token that goes with it, and a SigV4 signature it recomputes with
// aws-sdk-go-v2 over the signed headers it got. A signed header the
// verifier failed to forward, or any changed byte, therefore makes it
// refuse with 403, as STS does.
type fakeSTS struct {
	srv   *httptest.Server
	calls atomic.Int32
	creds map[string]aws.Credentials // by access key id
	arns  map[string]string

	mu   sync.Mutex
	last http.Header
}

var credentialRe = regexp.MustCompile(`Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/sts/aws4_request`)

func newFakeSTS(t *testing.T) *fakeSTS {
	s := &fakeSTS{creds: map[string]aws.Credentials{}, arns: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		s.mu.Lock()
		s.last = r.Header.Clone()
		s.mu.Unlock()
		data, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		signed := signedHeadersRe.FindStringSubmatch(auth)
		cred := credentialRe.FindStringSubmatch(auth)
		date, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
		if r.Method != http.MethodPost || signed == nil || cred == nil || err != nil || string(data) != Body {
			http.Error(w, "<Error><Code>InvalidRequest</Code></Error>", http.StatusBadRequest)
			return
		}
		c, ok := s.creds[cred[1]]
		if !ok || r.Header.Get("X-Amz-Security-Token") != c.SessionToken {
			http.Error(w, "<Error><Code>InvalidClientTokenId</Code></Error>", http.StatusForbidden)
			return
		}
		again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
		for _, h := range strings.Split(signed[1], ";") {
			if h != "host" {
				again.Header.Set(h, r.Header.Get(h))
			}
		}
		sum := sha256.Sum256(data)
		if err := v4.NewSigner().SignHTTP(context.Background(), c, again, hex.EncodeToString(sum[:]), "sts", cred[2], date); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if again.Header.Get("Authorization") != auth {
			http.Error(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>%s</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`, s.arns[cred[1]])
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// add registers credentials and the ARN STS answers for them.
func (s *fakeSTS) add(c aws.Credentials, arn string) {
	s.creds[c.AccessKeyID] = c
	s.arns[c.AccessKeyID] = arn
}

func (s *fakeSTS) lastHeaders() http.Header { s.mu.Lock(); defer s.mu.Unlock(); return s.last }

func (s *fakeSTS) verifier(now func() time.Time) *Verifier {
	return &Verifier{STSEndpoint: s.srv.URL, HTTP: s.srv.Client(), Now: now}
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
