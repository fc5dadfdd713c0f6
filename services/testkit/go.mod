// Module testkit is shared test support of the service modules: real
// PostgreSQL 16 and moto servers on loopback. The service modules reach it
// through services/go.work, so their images never depend on it.
module github.com/supabase-on-aws/supabase-on-aws/services/testkit

go 1.26

require github.com/jackc/pgx/v5 v5.7.2

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	golang.org/x/crypto v0.31.0 // indirect
	golang.org/x/text v0.21.0 // indirect
)
