// Command go-sdkgen writes the Go SDK of a Pulumi package schema with Pulumi's own Go code generator
// (github.com/pulumi/pulumi/pkg/v3/codegen/go, the version of the CLI this project builds). It is what
// `pulumi package gen-sdk --language go` runs inside the Go language host; that host's module is refused by
// the Go module proxy here, so the tests generate the SDK with this instead (docs/toolchain.md).
//
//	go-sdkgen SCHEMA.json OUT_DIR
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "go-sdkgen: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: go-sdkgen SCHEMA.json OUT_DIR")
	}
	text, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(text, &spec); err != nil {
		return fmt.Errorf("%s is not a package schema: %w", args[0], err)
	}
	// Bound with validation against the metaschema, as gen-sdk does. The schema references no other package,
	// so a loader that refuses every load is enough (and says so if that ever changes).
	pkg, diags, err := schema.BindSpec(spec, schema.NewNullLoader(), schema.ValidationOptions{})
	if err != nil {
		return fmt.Errorf("binding %s: %w", args[0], err)
	}
	if diags.HasErrors() {
		return fmt.Errorf("%s is not a valid package schema: %s", args[0], diags.Error())
	}
	files, err := gogen.GeneratePackage("aios-onboarding go-sdkgen", pkg, nil)
	if err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(args[1], name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
