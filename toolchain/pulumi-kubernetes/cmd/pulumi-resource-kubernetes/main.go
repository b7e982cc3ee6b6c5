// Command pulumi-resource-kubernetes serves the Kubernetes provider from the Go module
// github.com/pulumi/pulumi-kubernetes/provider/v4. That module's zip lacks the two generated files its
// own main embeds, so scripts/toolchain.sh writes them beside this file before the build: the schema
// with its version set, and the minified Terraform mapping. Not built by `go build ./...` in the repo.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
