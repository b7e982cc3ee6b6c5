// Command pulumi-resource-command is a stand-in for the Pulumi command provider plugin 1.2.1 (resources
// command:local:Command and command:remote:Command), for machines where the real plugin cannot be built.
// See docs/toolchain.md. Build with -ldflags "-X main.version=1.2.1": the engine asks for plugin command 1.2.1.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"

	"aios-onboarding/command-standin/provider"
)

// version is what GetPluginInfo answers; scripts/toolchain.sh stamps it.
var version = "0.0.0-unstamped"

func main() {
	prov, err := provider.New()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command (stand-in): %v\n", err)
		os.Exit(1)
	}
	if err := p.RunProvider(context.Background(), provider.Name, version, prov); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command (stand-in): %v\n", err)
		os.Exit(1)
	}
}
