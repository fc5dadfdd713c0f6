module github.com/supabase-on-aws/supabase-on-aws/services/kong/crosscheck

go 1.26

require (
	github.com/aws/aws-sdk-go-v2 v1.36.3
	github.com/golang-jwt/jwt/v5 v5.2.2
	github.com/stretchr/testify v1.11.1
)

require (
	github.com/aws/smithy-go v1.22.2 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
