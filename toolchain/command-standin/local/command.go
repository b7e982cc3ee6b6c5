// Package local is the stand-in for command:local:Command of pulumi-resource-command 1.2.1: a command run on
// the machine that runs the Pulumi engine.
package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"aios-onboarding/command-standin/internal/output"
)

// Logging selects which output streams are sent to the engine log while the command runs.
type Logging string

// Values lists the allowed values (an enum in the schema).
func (Logging) Values() []infer.EnumValue[Logging] {
	return []infer.EnumValue[Logging]{
		{Name: "stdout", Value: "stdout", Description: "Log stdout, not stderr."},
		{Name: "stderr", Value: "stderr", Description: "Log stderr, not stdout."},
		{Name: "stdoutAndStderr", Value: "stdoutAndStderr", Description: "Log stdout and stderr (the default)."},
		{Name: "none", Value: "none", Description: "Log nothing."},
	}
}

// Command is the resource command:local:Command.
type Command struct{}

// CommandInputs are the inputs of command:local:Command, with the names the @pulumi/command 1.2.1 SDK sends.
type CommandInputs struct {
	Triggers               *[]any             `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create                 *string            `pulumi:"create,optional"`
	Update                 *string            `pulumi:"update,optional"`
	Delete                 *string            `pulumi:"delete,optional"`
	Stdin                  *string            `pulumi:"stdin,optional"`
	Logging                *Logging           `pulumi:"logging,optional"`
	Environment            *map[string]string `pulumi:"environment,optional"`
	AddPreviousOutputInEnv *bool              `pulumi:"addPreviousOutputInEnv,optional"`
	Interpreter            *[]string          `pulumi:"interpreter,optional"`
	Dir                    *string            `pulumi:"dir,optional"`
	AssetPaths             *[]string          `pulumi:"assetPaths,optional"`
	ArchivePaths           *[]string          `pulumi:"archivePaths,optional"`
}

// CommandOutputs is the state: every input echoed, plus the last run's stdout and stderr.
type CommandOutputs struct {
	CommandInputs
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

// Annotate describes the resource in the schema.
func (c *Command) Annotate(a infer.Annotator) {
	a.Describe(&c, "A command run on the machine running Pulumi: `create` on create, `update` (or `create` when "+
		"`update` is unset) on update, `delete` on delete. Stand-in of pulumi-resource-command 1.2.1.")
}

// Annotate describes the inputs in the schema.
func (in *CommandInputs) Annotate(a infer.Annotator) {
	a.Describe(&in.Triggers, "Values whose change replaces the resource (the create command runs again).")
	a.Describe(&in.Create, "The command to run on create.")
	a.Describe(&in.Update, "The command to run on update; when unset, create runs again.")
	a.Describe(&in.Delete, "The command to run on delete.")
	a.Describe(&in.Stdin, "Passed to the command's standard input when not empty.")
	a.Describe(&in.Logging, "Which output streams go to the Pulumi log; default stdoutAndStderr.")
	a.Describe(&in.Environment, "Added to the provider's environment for the command.")
	a.Describe(&in.AddPreviousOutputInEnv, "Pass the previous stdout/stderr as PULUMI_COMMAND_STDOUT/STDERR; default true.")
	a.Describe(&in.Interpreter, `The program and arguments the command is appended to; default ["/bin/sh", "-c"].`)
	a.Describe(&in.Dir, "Working directory; default the provider's working directory.")
	a.Describe(&in.AssetPaths, "Accepted and ignored by this stand-in.")
	a.Describe(&in.ArchivePaths, "Accepted and ignored by this stand-in.")
}

// Annotate describes the outputs in the schema.
func (out *CommandOutputs) Annotate(a infer.Annotator) {
	a.Describe(&out.Stdout, "Standard output of the last run, one trailing newline removed.")
	a.Describe(&out.Stderr, "Standard error of the last run, one trailing newline removed.")
}

// Check validates the inputs; it applies no defaults, so the state records exactly what the program sent.
func (*Command) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[CommandInputs], error) {
	in, failures, err := infer.DefaultCheck[CommandInputs](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[CommandInputs]{Inputs: in, Failures: failures}, err
	}
	if in.Logging != nil && !output.Logging(*in.Logging).Valid() {
		failures = append(failures, p.CheckFailure{
			Property: "logging",
			Reason:   fmt.Sprintf("%q is not one of stdout, stderr, stdoutAndStderr, none", *in.Logging),
		})
	}
	return infer.CheckResponse[CommandInputs]{Inputs: in, Failures: failures}, nil
}

// Create runs `create` (nothing during a preview).
func (*Command) Create(ctx context.Context, req infer.CreateRequest[CommandInputs]) (infer.CreateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs}
	id, err := resource.NewUniqueHex(req.Name, 8, 0)
	if err != nil {
		return infer.CreateResponse[CommandOutputs]{}, err
	}
	if req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, nil
	}
	err = state.run(ctx, *req.Inputs.Create)
	return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
}

// Update runs `update`, or `create` when `update` is unset (nothing during a preview). The previous run's
// outputs are what the command sees in PULUMI_COMMAND_STDOUT/STDERR and what stays in state if nothing runs.
func (*Command) Update(ctx context.Context, req infer.UpdateRequest[CommandInputs, CommandOutputs]) (infer.UpdateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs, Stdout: req.State.Stdout, Stderr: req.State.Stderr}
	if req.DryRun {
		return infer.UpdateResponse[CommandOutputs]{Output: state}, nil
	}
	command := req.Inputs.Create
	if req.Inputs.Update != nil {
		command = req.Inputs.Update
	}
	if command == nil {
		return infer.UpdateResponse[CommandOutputs]{Output: state}, nil
	}
	err := state.run(ctx, *command)
	return infer.UpdateResponse[CommandOutputs]{Output: state}, err
}

// Delete runs `delete` as recorded in the state (the old inputs); nothing when it is unset.
func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	state := req.State
	return infer.DeleteResponse{}, state.run(ctx, *req.State.Delete)
}

// run executes interpreter + [command]; on success it replaces Stdout and Stderr with the new outputs.
func (s *CommandOutputs) run(ctx context.Context, command string) error {
	logger := p.GetLogger(ctx)
	if s.AssetPaths != nil || s.ArchivePaths != nil {
		logger.Warning("assetPaths and archivePaths are ignored by this stand-in of pulumi-resource-command: " +
			"the assets and archive outputs stay empty")
	}
	args := []string{"/bin/sh", "-c"}
	if s.Interpreter != nil && len(*s.Interpreter) > 0 {
		args = append([]string(nil), *s.Interpreter...)
	}
	args = append(args, command)

	var logging output.Logging
	if s.Logging != nil {
		logging = output.Logging(*s.Logging)
	}
	capture := output.NewCapture(logging, logger.Info)

	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout = capture.Stdout()
	cmd.Stderr = capture.Stderr()
	if s.Dir != nil {
		cmd.Dir = *s.Dir
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		cmd.Dir = wd
	}
	cmd.Env = Environment(os.Environ(), s.Environment, s.AddPreviousOutputInEnv, s.Stdout, s.Stderr)
	if s.Stdin != nil && len(*s.Stdin) > 0 {
		cmd.Stdin = strings.NewReader(*s.Stdin)
	}
	// Own process group, so that an expired deadline (customTimeouts) or a cancellation kills the command and
	// everything it started, not only the interpreter.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	err := cmd.Run()
	capture.Flush()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		}
		return capture.Failure(err, command)
	}
	s.Stdout, s.Stderr = capture.Outputs()
	return nil
}

// Environment is base plus the `environment` input (sorted by name, so runs are reproducible), plus the
// previous outputs unless addPreviousOutputInEnv is false.
func Environment(base []string, env *map[string]string, addPrevious *bool, stdout, stderr string) []string {
	out := append([]string(nil), base...)
	if env != nil {
		keys := make([]string, 0, len(*env))
		for k := range *env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, k+"="+(*env)[k])
		}
	}
	if addPrevious == nil || *addPrevious {
		if stdout != "" {
			out = append(out, output.EnvPreviousStdout+"="+stdout)
		}
		if stderr != "" {
			out = append(out, output.EnvPreviousStderr+"="+stderr)
		}
	}
	return out
}
