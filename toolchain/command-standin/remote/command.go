// Package remote is the stand-in for command:remote:Command of pulumi-resource-command 1.2.1: a command run
// on another machine over SSH.
package remote

import (
	"context"
	"fmt"
	"sort"
	"strings"

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

// Command is the resource command:remote:Command.
type Command struct{}

// CommandInputs are the inputs of command:remote:Command, with the names the @pulumi/command 1.2.1 SDK sends.
// The whole connection is secret, in state and in diffs.
type CommandInputs struct {
	Connection             *Connection        `pulumi:"connection" provider:"secret"`
	Triggers               *[]any             `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create                 *string            `pulumi:"create,optional"`
	Update                 *string            `pulumi:"update,optional"`
	Delete                 *string            `pulumi:"delete,optional"`
	Stdin                  *string            `pulumi:"stdin,optional"`
	Logging                *Logging           `pulumi:"logging,optional"`
	Environment            *map[string]string `pulumi:"environment,optional"`
	AddPreviousOutputInEnv *bool              `pulumi:"addPreviousOutputInEnv,optional"`
}

// CommandOutputs is the state: every input echoed, plus the last run's stdout and stderr.
type CommandOutputs struct {
	CommandInputs
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

// Annotate describes the resource in the schema.
func (c *Command) Annotate(a infer.Annotator) {
	a.Describe(&c, "A command run on a remote host over SSH: `create` on create, `update` (or `create` when "+
		"`update` is unset) on update, `delete` on delete. Stand-in of pulumi-resource-command 1.2.1.")
}

// Annotate describes the inputs in the schema.
func (in *CommandInputs) Annotate(a infer.Annotator) {
	a.Describe(&in.Connection, "How to reach the host.")
	a.Describe(&in.Triggers, "Values whose change replaces the resource (the create command runs again).")
	a.Describe(&in.Create, "The command to run on create.")
	a.Describe(&in.Update, "The command to run on update; when unset, create runs again.")
	a.Describe(&in.Delete, "The command to run on delete.")
	a.Describe(&in.Stdin, "Sent to the command's standard input when not empty.")
	a.Describe(&in.Logging, "Which output streams go to the Pulumi log; default stdoutAndStderr.")
	a.Describe(&in.Environment, "Set with SSH Setenv (the server must AcceptEnv the names); a refusal is an error.")
	a.Describe(&in.AddPreviousOutputInEnv, "Pass the previous stdout/stderr as PULUMI_COMMAND_STDOUT/STDERR; default true.")
}

// Annotate describes the outputs in the schema.
func (out *CommandOutputs) Annotate(a infer.Annotator) {
	a.Describe(&out.Stdout, "Standard output of the last run, one trailing newline removed.")
	a.Describe(&out.Stderr, "Standard error of the last run, one trailing newline removed.")
}

// Check validates the inputs and applies the connection defaults (the SDK has already applied the same).
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
	if in.Connection != nil && in.Connection.Proxy != nil {
		failures = append(failures, p.CheckFailure{Property: "connection.proxy", Reason: errProxy.Error()})
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

// Update runs `update`, or `create` when `update` is unset (nothing during a preview).
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

// Delete runs `delete` from the state, over the connection recorded in the state; nothing when it is unset.
func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	state := req.State
	return infer.DeleteResponse{}, state.run(ctx, *req.State.Delete)
}

func (s *CommandOutputs) run(ctx context.Context, command string) error {
	if s.Connection == nil {
		return fmt.Errorf("connection is required")
	}
	var logging output.Logging
	if s.Logging != nil {
		logging = output.Logging(*s.Logging)
	}
	addPrevious := s.AddPreviousOutputInEnv == nil || *s.AddPreviousOutputInEnv
	logger := p.GetLogger(ctx)
	stdout, stderr, err := Run(ctx, *s.Connection, command, RunOptions{
		Stdin:          deref(s.Stdin),
		Environment:    derefMap(s.Environment),
		PreviousStdout: ifThen(addPrevious, s.Stdout),
		PreviousStderr: ifThen(addPrevious, s.Stderr),
		Logging:        logging,
		LogLine:        logger.Info,
		Warn:           logger.Warning,
	})
	if err != nil {
		return err
	}
	s.Stdout, s.Stderr = stdout, stderr
	return nil
}

// RunOptions are what a remote run needs besides the connection and the command.
type RunOptions struct {
	Stdin          string
	Environment    map[string]string
	PreviousStdout string // sent as PULUMI_COMMAND_STDOUT when not empty
	PreviousStderr string // sent as PULUMI_COMMAND_STDERR when not empty
	Logging        output.Logging
	LogLine        func(string) // receives the logged output lines; nil logs nothing
	Warn           func(string) // receives warnings; may be nil
}

// Run dials the host and runs command in a new session with session.Run (no PTY): the environment is set with
// Setenv (a refusal is an error; for the previous outputs only a warning), stdin is fed when not empty. It
// returns stdout and stderr with one trailing newline removed, or the error formatted like the real provider.
// The command itself is not interrupted when ctx ends (as in the real provider): only dialing honours ctx.
func Run(ctx context.Context, conn Connection, command string, opts RunOptions) (string, string, error) {
	config, err := conn.ClientConfig()
	if err != nil {
		return "", "", err
	}
	client, err := conn.Dial(ctx, config)
	if err != nil {
		return "", "", err
	}
	defer func() { _ = client.Close() }()
	session, err := client.NewSession()
	if err != nil {
		return "", "", err
	}
	defer func() { _ = session.Close() }()

	names := make([]string, 0, len(opts.Environment))
	for name := range opts.Environment {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := session.Setenv(name, opts.Environment[name]); err != nil {
			return "", "", fmt.Errorf("setting environment variable %s on %s (is it in the server's AcceptEnv?): %w",
				name, deref(conn.Host), err)
		}
	}
	for _, env := range [][2]string{{output.EnvPreviousStdout, opts.PreviousStdout}, {output.EnvPreviousStderr, opts.PreviousStderr}} {
		if env[1] == "" {
			continue
		}
		if err := session.Setenv(env[0], env[1]); err != nil && opts.Warn != nil {
			opts.Warn(fmt.Sprintf("unable to set %s on %s (not in the server's AcceptEnv?): %v; "+
				"set addPreviousOutputInEnv to false to skip it", env[0], deref(conn.Host), err))
		}
	}
	if opts.Stdin != "" {
		session.Stdin = strings.NewReader(opts.Stdin)
	}
	capture := output.NewCapture(opts.Logging, opts.LogLine)
	session.Stdout = capture.Stdout()
	session.Stderr = capture.Stderr()
	err = session.Run(command)
	capture.Flush()
	if err != nil {
		return "", "", capture.Failure(err, command)
	}
	stdout, stderr := capture.Outputs()
	return stdout, stderr, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefMap(m *map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	return *m
}

func ifThen(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}
