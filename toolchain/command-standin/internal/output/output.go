// Package output captures what a command writes, streams its lines to the engine log as they come, and
// formats a failure the way pulumi-resource-command 1.2.1 does.
package output

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Environment variables that carry the previous run's outputs into the next command.
const (
	EnvPreviousStdout = "PULUMI_COMMAND_STDOUT"
	EnvPreviousStderr = "PULUMI_COMMAND_STDERR"
)

// Logging is the value of the `logging` input: "stdout", "stderr", "stdoutAndStderr" or "none".
// Unset (empty) means both streams are logged.
type Logging string

// Valid reports whether l is unset or one of the four values the provider schema allows.
func (l Logging) Valid() bool {
	switch l {
	case "", "stdout", "stderr", "stdoutAndStderr", "none":
		return true
	}
	return false
}

// Stdout reports whether stdout lines go to the engine log.
func (l Logging) Stdout() bool { return l == "" || l == "stdout" || l == "stdoutAndStderr" }

// Stderr reports whether stderr lines go to the engine log.
func (l Logging) Stderr() bool { return l == "" || l == "stderr" || l == "stdoutAndStderr" }

// Capture collects one run's stdout, stderr and both interleaved in arrival order. Stdout and Stderr may be
// written from different goroutines.
type Capture struct {
	mu             sync.Mutex
	combined       bytes.Buffer
	stdout, stderr stream
}

// NewCapture returns a Capture that passes every complete line of the streams selected by logging to logLine
// while the command runs (logLine must be safe for concurrent use).
func NewCapture(logging Logging, logLine func(string)) *Capture {
	c := &Capture{}
	c.stdout.parent, c.stderr.parent = c, c
	if logLine != nil && logging.Stdout() {
		c.stdout.logLine = logLine
	}
	if logLine != nil && logging.Stderr() {
		c.stderr.logLine = logLine
	}
	return c
}

// Stdout is the writer for the command's standard output.
func (c *Capture) Stdout() io.Writer { return &c.stdout }

// Stderr is the writer for the command's standard error.
func (c *Capture) Stderr() io.Writer { return &c.stderr }

// Flush logs what is left of an unterminated last line. Call it once the command has finished.
func (c *Capture) Flush() {
	c.stdout.flush()
	c.stderr.flush()
}

// Outputs returns stdout and stderr with one trailing newline removed, as the real provider stores them.
func (c *Capture) Outputs() (stdout, stderr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSuffix(c.stdout.all.String(), "\n"), strings.TrimSuffix(c.stderr.all.String(), "\n")
}

// Failure wraps err like pulumi-resource-command 1.2.1: "<err>: running \"<command>\":\n<stdout and stderr>".
func (c *Capture) Failure(err error, command string) error {
	c.mu.Lock()
	combined := c.combined.String()
	c.mu.Unlock()
	return fmt.Errorf("%w: running %q:\n%s", err, command, combined)
}

type stream struct {
	parent  *Capture
	all     bytes.Buffer // guarded by parent.mu
	partial []byte       // only touched by the stream's writer, then by flush
	logLine func(string)
}

func (s *stream) Write(p []byte) (int, error) {
	s.parent.mu.Lock()
	s.all.Write(p)
	s.parent.combined.Write(p)
	s.parent.mu.Unlock()
	if s.logLine == nil {
		return len(p), nil
	}
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.logLine(strings.TrimSuffix(string(s.partial[:i]), "\r"))
		s.partial = s.partial[i+1:]
	}
	return len(p), nil
}

func (s *stream) flush() {
	if s.logLine != nil && len(s.partial) > 0 {
		s.logLine(strings.TrimSuffix(string(s.partial), "\r"))
	}
	s.partial = nil
}
