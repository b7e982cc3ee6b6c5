// Package provider assembles the stand-in provider from its two resources.
package provider

import (
	"context"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"aios-onboarding/command-standin/local"
	"aios-onboarding/command-standin/remote"
)

// Name is the package name of the tokens (command:local:Command, command:remote:Command).
const Name = "command"

// New builds the provider.
func New() (p.Provider, error) {
	prov, err := infer.NewProviderBuilder().
		WithDisplayName("Command (aios-onboarding stand-in)").
		WithDescription("Stand-in for pulumi-resource-command 1.2.1: command:local:Command and command:remote:Command only.").
		WithNamespace("pulumi").
		WithResources(
			infer.Resource(&local.Command{}),
			infer.Resource(&remote.Command{}),
		).
		Build()
	if err != nil {
		return prov, err
	}
	prov.Diff = ReplaceOnTriggers(prov.Diff)
	return prov, nil
}

// ReplaceOnTriggers makes every change under `triggers` a replacement. infer's default diff marks only a change
// of the whole property ("triggers") as a replace, not one of an element ("triggers[1]"); with the real plugin
// the engine still replaces, because the SDK registers the resource with replaceOnChanges ["triggers[*]"]. Here
// the provider says so itself, so a program that drops that option still gets the documented behaviour.
func ReplaceOnTriggers(diff func(context.Context, p.DiffRequest) (p.DiffResponse, error)) func(context.Context, p.DiffRequest) (p.DiffResponse, error) {
	return func(ctx context.Context, req p.DiffRequest) (p.DiffResponse, error) {
		resp, err := diff(ctx, req)
		if err != nil {
			return resp, err
		}
		for k, v := range resp.DetailedDiff {
			path, perr := resource.ParsePropertyPath(k)
			if perr != nil || len(path) == 0 || path[0] != "triggers" {
				continue
			}
			switch v.Kind {
			case p.Add:
				v.Kind = p.AddReplace
			case p.Delete:
				v.Kind = p.DeleteReplace
			case p.Update:
				v.Kind = p.UpdateReplace
			}
			resp.DetailedDiff[k] = v
		}
		return resp, nil
	}
}
