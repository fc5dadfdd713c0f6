package sqlapi

import (
	"strings"
)

// statement is one top-level SQL statement of a request: its text (without
// the terminating semicolon) and what the checks below need to know of it.
type statement struct {
	Text string
	// Words are the first two keywords, upper-cased.
	Words []string
	// HasInto: an INTO keyword outside quotes (SELECT … INTO creates a table).
	HasInto bool
}

// splitStatements cuts SQL into top-level statements the way the server's
// lexer sees them: semicolons inside comments (-- and nested /* */),
// string constants ('…', E'…' with backslash escapes), quoted identifiers
// and dollar-quoted bodies do not end a statement, and neither do those
// inside a BEGIN ATOMIC … END function body. Unterminated quotes or
// comments run to the end of the input; the server then reports the
// syntax error itself.
func splitStatements(sql string) []statement {
	var (
		out   []statement
		start = 0
		cur   statement
		// depth is the nesting inside a BEGIN ATOMIC … END function body
		// (CASE … END within it); only such a body holds semicolons that
		// do not end the statement. A BEGIN elsewhere (a column named
		// begin) is no body.
		depth  = 0
		parens = 0
		prev   = ""
	)
	flush := func(end int) {
		text := strings.TrimSpace(sql[start:end])
		if text != "" {
			cur.Text = text
			out = append(out, cur)
		}
		cur = statement{}
		depth, parens, prev = 0, 0, ""
	}
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			nest := 0
			for i < n {
				if sql[i] == '/' && i+1 < n && sql[i+1] == '*' {
					nest++
					i += 2
				} else if sql[i] == '*' && i+1 < n && sql[i+1] == '/' {
					nest--
					i += 2
					if nest == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'':
			i = skipString(sql, i+1, false)
		case c == '"':
			i++
			for i < n {
				if sql[i] == '"' {
					if i+1 < n && sql[i+1] == '"' {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
		case c == '$':
			if tag, ok := dollarTag(sql, i); ok {
				j := strings.Index(sql[i+len(tag):], tag)
				if j < 0 {
					i = n
				} else {
					i += len(tag) + j + len(tag)
				}
			} else {
				i++
			}
		case c == '(':
			parens++
			i++
		case c == ')':
			if parens > 0 {
				parens--
			}
			i++
		case c == ';' && depth == 0:
			flush(i)
			i++
			start = i
		case isIdentStart(c):
			j := i + 1
			for j < n && isIdentChar(sql[j]) {
				j++
			}
			word := strings.ToUpper(sql[i:j])
			// E'…' is the one string form with backslash escapes.
			if j < n && sql[j] == '\'' && word == "E" {
				i = skipString(sql, j+1, true)
				continue
			}
			if len(cur.Words) < 2 {
				cur.Words = append(cur.Words, word)
			}
			if word == "INTO" {
				cur.HasInto = true
			}
			if len(cur.Words) > 0 && cur.Words[0] == "CREATE" {
				switch {
				case word == "ATOMIC" && prev == "BEGIN" && parens == 0 && depth == 0:
					depth = 1
				case word == "CASE" && depth > 0:
					depth++
				case word == "END" && depth > 0:
					depth--
				}
			}
			prev = word
			i = j
		default:
			i++
		}
	}
	flush(n)
	return out
}

// skipString returns the index after the string constant whose body starts
// at i; ” is a quote, and with backslashes \' and \\ too.
func skipString(s string, i int, backslashes bool) int {
	for i < len(s) {
		switch {
		case backslashes && s[i] == '\\':
			i += 2
		case s[i] == '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				i += 2
				continue
			}
			return i + 1
		default:
			i++
		}
	}
	return len(s)
}

// dollarTag recognises $$ or $tag$ at i. A $ inside an identifier (a$b)
// or before a digit ($1, a parameter) does not open a dollar quote.
func dollarTag(s string, i int) (string, bool) {
	if i > 0 && isIdentChar(s[i-1]) {
		return "", false
	}
	j := i + 1
	if j < len(s) && s[j] >= '0' && s[j] <= '9' {
		return "", false
	}
	for j < len(s) && s[j] != '$' {
		if !isIdentChar(s[j]) || s[j] == '$' {
			return "", false
		}
		j++
	}
	if j >= len(s) {
		return "", false
	}
	return s[i : j+1], true
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$'
}

// transactionControl names the first statement that would end or split the
// transaction a migration runs in, or "" if there is none. Statements that
// cannot run inside a transaction block at all (VACUUM, CREATE INDEX
// CONCURRENTLY, COMMIT inside DO or a procedure) are refused by the server.
func transactionControl(stmts []statement) string {
	for _, s := range stmts {
		if len(s.Words) == 0 {
			continue
		}
		w1 := ""
		if len(s.Words) > 1 {
			w1 = s.Words[1]
		}
		switch s.Words[0] {
		case "BEGIN", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE":
			return s.Words[0]
		case "START", "PREPARE":
			if w1 == "TRANSACTION" {
				return s.Words[0] + " TRANSACTION"
			}
		}
	}
	return ""
}

// onlyReads is true when every statement is a plain SELECT, VALUES, TABLE
// or SHOW without INTO: such a request changes no schema unless a function
// it calls does.
func onlyReads(stmts []statement) bool {
	for _, s := range stmts {
		if len(s.Words) == 0 || s.HasInto {
			return false
		}
		switch s.Words[0] {
		case "SELECT", "VALUES", "TABLE", "SHOW":
		default:
			return false
		}
	}
	return len(stmts) > 0
}
