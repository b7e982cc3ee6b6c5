package local

import (
	"reflect"
	"testing"
)

func TestEnvironment(t *testing.T) {
	env := map[string]string{"B": "2", "A": "1"}
	no := false
	for _, tc := range []struct {
		addPrevious *bool
		want        []string
	}{
		{nil, []string{"BASE=x", "A=1", "B=2", "PULUMI_COMMAND_STDOUT=out"}},
		{&no, []string{"BASE=x", "A=1", "B=2"}},
	} {
		got := Environment([]string{"BASE=x"}, &env, tc.addPrevious, "out", "")
		if !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("got %q, want %q", got, tc.want)
		}
	}
}
