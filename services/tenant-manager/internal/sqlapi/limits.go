package sqlapi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// wireMargin is what a protocol message may carry beyond SQL_MAX_BYTES:
// a row's framing and column count, a wide row description, an error
// with its detail. A larger message (one huge value, a huge notice or
// error text) is refused by the protocol reader before it is buffered,
// so no request holds more than about SQL_MAX_BYTES of one message.
const wireMargin = 1 << 20

// maxErrorText bounds the server's message, detail and hint in an answer:
// the text is the tenant's to choose (RAISE … USING MESSAGE).
const maxErrorText = 2048

// maxParameters is the extended protocol's limit (a 16-bit count).
const maxParameters = 65535

// slotWait is how long a SQL request waits for a free slot before it is
// refused: long enough to smooth a burst, short against a flood.
const slotWait = 2 * time.Second

// DefaultMaxConcurrent is the bound on SQL requests one task runs at once
// when SQL_MAX_CONCURRENT_REQUESTS is not set.
const DefaultMaxConcurrent = 8

func (s *Service) wireLimit() int { return int(s.Limits.MaxBytes) + wireMargin }

func (s *Service) tooLarge() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "result_too_large",
		Msg: fmt.Sprintf("a statement's rows exceed %d bytes of JSON (SQL_MAX_BYTES); select fewer columns or rows", s.Limits.MaxBytes)}
}

func (s *Service) wireTooLarge() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "result_too_large",
		Msg: fmt.Sprintf("the server sent a message (a row, notice or error) over %d bytes (SQL_MAX_BYTES plus framing); select fewer or smaller values", s.wireLimit())}
}

// takeSlot bounds the SQL requests this task runs at once across all
// projects, so parallel requests cannot multiply SQL_MAX_BYTES beyond
// what the task's memory holds. Full: 503 sql_busy (the task's capacity,
// not the caller's rate).
func (s *Service) takeSlot(ctx context.Context) (func(), error) {
	s.slotsOnce.Do(func() {
		n := s.Limits.MaxConcurrent
		if n <= 0 {
			n = DefaultMaxConcurrent
		}
		s.slots = make(chan struct{}, n)
	})
	t := time.NewTimer(slotWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, &Error{Status: http.StatusServiceUnavailable, Code: "sql_busy",
		Msg: fmt.Sprintf("this tenant-manager task runs %d SQL requests at once (SQL_MAX_CONCURRENT_REQUESTS) and none finished within %s; retry", cap(s.slots), slotWait)}
}

func checkParameters(n int) error {
	if n > maxParameters {
		return badRequest("invalid_body", "parameters: at most "+strconv.Itoa(maxParameters)+" are allowed, got "+strconv.Itoa(n))
	}
	return nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "… (truncated)"
}

func isWireTooLarge(err error) bool {
	var e *pgproto3.ExceededMaxBodyLenErr
	return errors.As(err, &e)
}

// pgErrorMessage is the answer for an error the server reported about the
// tenant's SQL, its tenant-chosen parts bounded.
func pgErrorMessage(pgErr *pgconn.PgError) string {
	msg := fmt.Sprintf("%s: %s (SQLSTATE %s)", pgErr.Severity, truncate(pgErr.Message, maxErrorText), pgErr.Code)
	if pgErr.Detail != "" {
		msg += "; detail: " + truncate(pgErr.Detail, maxErrorText)
	}
	if pgErr.Hint != "" {
		msg += "; hint: " + truncate(pgErr.Hint, maxErrorText)
	}
	if pgErr.Position > 0 {
		msg += "; at character " + strconv.Itoa(int(pgErr.Position))
	}
	return msg
}

// frameWatch follows the message framing of what the server sends, ahead
// of the protocol reader, to remember that a message over the bound came.
// pgx reports that as its own error in most paths, but loses it where it
// only peeks (between the results of a multi-statement query: a huge
// notice or error there surfaces as "conn closed").
type frameWatch struct {
	r        io.Reader
	limit    int
	need     int // body bytes of the current message still to pass
	hdr      [5]byte
	hn       int
	exceeded atomic.Bool
}

func (f *frameWatch) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	b := p[:n]
	for len(b) > 0 && !f.exceeded.Load() {
		if f.need > 0 {
			k := min(f.need, len(b))
			f.need -= k
			b = b[k:]
			continue
		}
		k := copy(f.hdr[f.hn:], b)
		f.hn += k
		b = b[k:]
		if f.hn == len(f.hdr) {
			f.hn = 0
			body := int(int32(binary.BigEndian.Uint32(f.hdr[1:]))) - 4
			if body > f.limit {
				f.exceeded.Store(true)
			} else if body > 0 {
				f.need = body
			}
		}
	}
	return n, err
}

// buildFrontend is the owner connections' protocol reader: bounded, and
// watched so a breach is known even where pgx drops its error.
func (s *Service) buildFrontend(r io.Reader, w io.Writer) *pgproto3.Frontend {
	fw := &frameWatch{r: r, limit: s.wireLimit()}
	f := pgproto3.NewFrontend(fw, w)
	f.SetMaxBodyLen(s.wireLimit())
	s.frames.Store(f, fw)
	return f
}

// exceededWire tells whether the connection received a message over the
// bound.
func (s *Service) exceededWire(pc *pgconn.PgConn) bool {
	fw, ok := s.frames.Load(pc.Frontend())
	return ok && fw.(*frameWatch).exceeded.Load()
}

func (s *Service) forgetConn(pc *pgconn.PgConn) { s.frames.Delete(pc.Frontend()) }
