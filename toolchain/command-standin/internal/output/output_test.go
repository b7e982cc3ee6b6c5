package output

import (
	"errors"
	"reflect"
	"testing"
)

func TestCaptureLinesAndOutputs(t *testing.T) {
	var logged []string
	c := NewCapture("stdout", func(l string) { logged = append(logged, l) })
	for _, chunk := range []string{"par", "tial\r\nsecond\n", "", "unterminated"} {
		_, _ = c.Stdout().Write([]byte(chunk))
	}
	_, _ = c.Stderr().Write([]byte("not logged\n"))
	c.Flush()
	if want := []string{"partial", "second", "unterminated"}; !reflect.DeepEqual(logged, want) {
		t.Fatalf("logged %q, want %q", logged, want)
	}
	stdout, stderr := c.Outputs()
	if stdout != "partial\r\nsecond\nunterminated" || stderr != "not logged" {
		t.Fatalf("outputs %q %q", stdout, stderr)
	}
	err := c.Failure(errors.New("exit status 1"), "make it")
	if err.Error() != "exit status 1: running \"make it\":\npartial\r\nsecond\nunterminatednot logged\n" {
		t.Fatalf("failure %q", err)
	}
}

func TestOnlyOneTrailingNewlineTrimmed(t *testing.T) {
	c := NewCapture("none", nil)
	_, _ = c.Stdout().Write([]byte("a\n\n"))
	if stdout, _ := c.Outputs(); stdout != "a\n" {
		t.Fatalf("stdout %q", stdout)
	}
}

func TestLoggingValues(t *testing.T) {
	for l, want := range map[Logging][2]bool{
		"": {true, true}, "stdoutAndStderr": {true, true}, "stdout": {true, false}, "stderr": {false, true}, "none": {false, false},
	} {
		if !l.Valid() || l.Stdout() != want[0] || l.Stderr() != want[1] {
			t.Fatalf("%q", l)
		}
	}
	if Logging("both").Valid() {
		t.Fatal("an unknown value must be invalid")
	}
}
