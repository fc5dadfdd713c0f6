package callerid

import "regexp"

// Role is what an ARN says: account, role name and session name.
type Role struct {
	Account, Name, Session string
}

var (
	assumedRe = regexp.MustCompile(`^arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([^/]+)/(.+)$`)
	roleRe    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$`)
)

// AssumedRole parses an STS assumed-role ARN, the form Verify returns for a
// role session.
func AssumedRole(arn string) (Role, bool) {
	m := assumedRe.FindStringSubmatch(arn)
	if m == nil {
		return Role{}, false
	}
	return Role{Account: m[1], Name: m[2], Session: m[3]}, true
}

// IAMRole parses an IAM role ARN into account and name. The name is the
// last path segment: an assumed-role ARN names the role without its path.
func IAMRole(arn string) (Role, bool) {
	m := roleRe.FindStringSubmatch(arn)
	if m == nil {
		return Role{}, false
	}
	return Role{Account: m[1], Name: m[2]}, true
}
