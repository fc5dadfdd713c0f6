module github.com/supabase-on-aws/supabase-on-aws/services/kong/crosscheck

go 1.26

require (
	github.com/aws/aws-sdk-go-v2 v1.36.3
	github.com/golang-jwt/jwt/v5 v5.2.2
	github.com/stretchr/testify v1.12.1
	github.com/supabase-on-aws/supabase-on-aws/services/callerid v0.0.0
)

require (
	github.com/aws/smithy-go v1.22.2 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/supabase-on-aws/supabase-on-aws/services/callerid => ../../callerid
