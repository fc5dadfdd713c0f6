// This empty module only fences tools/ off from the root module: the CDK
// CLI in tools/node_modules ships Go templates that `go vet ./...` and
// `go test ./...` would otherwise try to build.
module tools

go 1.26
