package config

import (
	"fmt"
	"strings"
)

// unreservedConcurrencyFloor is what Lambda keeps unreserved in every
// account: PutFunctionConcurrency fails once reservations would leave less.
const unreservedConcurrencyFloor = 100

// rdsClassMemoryGiB is the memory of the RDS instance classes the
// connection budget knows. Other classes need an explicit maxConnections.
var rdsClassMemoryGiB = func() map[string]int {
	m := map[string]int{}
	burstable := map[string]int{"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
	for _, fam := range []string{"t3", "t4g"} {
		for size, gib := range burstable {
			m[fam+"."+size] = gib
		}
	}
	// General purpose: 4 GiB per vCPU; memory optimised: 8 GiB per vCPU.
	sizes := map[string]int{"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64, "24xlarge": 96}
	for _, fam := range []string{"m5", "m6g", "m6i", "m7g", "m7i"} {
		for size, vcpu := range sizes {
			m[fam+"."+size] = 4 * vcpu
		}
	}
	for _, fam := range []string{"r5", "r6g", "r6i", "r7g", "r7i"} {
		for size, vcpu := range sizes {
			m[fam+"."+size] = 8 * vcpu
		}
	}
	return m
}()

// DefaultMaxConnections is RDS for PostgreSQL's default max_connections of
// an instance class, LEAST(DBInstanceClassMemory / 9531392, 5000), from the
// class's nominal memory; false for a class not in the table.
func DefaultMaxConnections(instanceClass string) (int, bool) {
	gib, ok := rdsClassMemoryGiB[strings.TrimPrefix(instanceClass, "db.")]
	if !ok {
		return 0, false
	}
	return min(gib*(1<<30)/9531392, 5000), true
}

// ConnectionCapacity is the worker's max_connections: its override, or the
// RDS default of its class.
func (w Worker) ConnectionCapacity() (int, bool) {
	if w.MaxConnections != nil {
		return *w.MaxConnections, true
	}
	return DefaultMaxConnections(w.InstanceClass)
}

// validateCapacity keeps one tenant from exhausting what all share: every
// worker fits its tenants' connection limits plus its reserved
// connections, and the tenants' reserved Lambda concurrency leaves the
// account its unreserved floor.
func (c *Config) validateCapacity(v *validator) {
	td := c.TenantDatabase
	if v.bad("tenantDatabase.connectionLimit", "tenantDatabase.reservedConnections") {
		return
	}
	tenants := 0
	for i, w := range c.Database.Workers {
		p := fmt.Sprintf("database.workers[%d]", i)
		tenants += w.MaxTenants
		if v.bad(p, p+".maxTenants", p+".instanceClass", p+".maxConnections") {
			continue
		}
		maxConn, ok := w.ConnectionCapacity()
		if !ok {
			v.add(p+".instanceClass", "cannot tell the max_connections of %s for the connection budget: set %s.maxConnections", w.InstanceClass, p)
			continue
		}
		need := w.MaxTenants*td.ConnectionLimit + td.ReservedConnections
		if need <= maxConn {
			continue
		}
		room := maxConn - td.ReservedConnections
		var fixes []string
		if n := room / td.ConnectionLimit; n >= 1 {
			fixes = append(fixes, fmt.Sprintf("lower maxTenants to %d", n))
		}
		if n := room / w.MaxTenants; n >= 1 {
			fixes = append(fixes, fmt.Sprintf("lower tenantDatabase.connectionLimit to %d", n))
		}
		fixes = append(fixes, "choose a larger instanceClass")
		v.add(p+".maxTenants", "%d tenants x tenantDatabase.connectionLimit %d + tenantDatabase.reservedConnections %d = %d connections, more than the %d max_connections of %s: one busy tenant per slot could exhaust the worker; %s",
			w.MaxTenants, td.ConnectionLimit, td.ReservedConnections, need, maxConn, w.InstanceClass, strings.Join(fixes, ", or "))
	}
	perTenant, paths := 0, []string{}
	if rc := c.TenantLambda.ReservedConcurrency; rc != nil && *rc > 0 && !v.bad("tenantLambda.reservedConcurrency") {
		perTenant += *rc
		paths = append(paths, fmt.Sprintf("tenantLambda.reservedConcurrency %d", *rc))
	}
	if rc := c.EdgeFunctions.ReservedConcurrency; rc != nil && *rc > 0 && !v.bad("edgeFunctions.reservedConcurrency") {
		perTenant += *rc
		paths = append(paths, fmt.Sprintf("edgeFunctions.reservedConcurrency %d", *rc))
	}
	if perTenant == 0 || v.bad("tenantLambda.accountConcurrency") {
		return
	}
	if total, room := tenants*perTenant, c.TenantLambda.AccountConcurrency-unreservedConcurrencyFloor; total > room {
		v.add("tenantLambda.reservedConcurrency", "%d tenants (all workers' maxTenants) x (%s) = %d reserved, more than tenantLambda.accountConcurrency %d - %d that Lambda keeps unreserved = %d: lower it to at most %d per tenant, or raise the account's quota and accountConcurrency",
			tenants, strings.Join(paths, " + "), total, c.TenantLambda.AccountConcurrency, unreservedConcurrencyFloor, room, room/tenants)
	}
}
