module github.com/supabase-on-aws/supabase-on-aws/services/callerid

go 1.26

require (
	github.com/aws/aws-sdk-go-v2 v1.36.3
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/aws/smithy-go v1.22.2 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
