package converge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/report"
)

// kernel is a fake: a set of names, where an op is "+name" or "-name" and
// a name starting with "!" fails.
type kernel struct {
	objs map[string]bool
	ran  []string
}

func (k *kernel) do(op string) error {
	k.ran = append(k.ran, op)
	name := op[1:]
	if strings.HasPrefix(name, "!") {
		return fmt.Errorf("%s: refused", name)
	}
	k.objs[name] = op[0] == '+'
	return nil
}

// steps plans the kernel k towards want: a create per missing name (grouped
// by its first letter), a delete per extra one.
func steps(k *kernel, want []string, log *slog.Logger) Steps[[]string, *kernel, string] {
	return Steps[[]string, *kernel, string]{
		Name: "thing",
		Log:  log,
		Validate: func() ([]string, error) {
			for _, w := range want {
				if w == "" {
					return nil, errors.New("empty name")
				}
			}
			return want, nil
		},
		Observe: func(context.Context, []string) (*kernel, func(), error) { return k, nil, nil },
		Plan: func(w []string, o *kernel, _ Mode) ([]Change[string], error) {
			var cs []Change[string]
			wanted := map[string]bool{}
			for _, n := range w {
				wanted[n] = true
				if !o.objs[n] {
					cs = append(cs, Change[string]{Verb: report.Create, Kind: "thing", What: n, Group: n[:1], Ops: []string{"+" + n}})
				}
			}
			for n, present := range o.objs {
				if present && !wanted[n] {
					cs = append(cs, Change[string]{Verb: report.Delete, Kind: "thing", What: n, Ops: []string{"-" + n}})
				}
			}
			return cs, nil
		},
		Do:    func(o *kernel) func(string) error { return o.do },
		Attrs: func(w []string) []any { return []any{"things", len(w)} },
	}
}

func TestRunConvergesThenReportsNothing(t *testing.T) {
	k := &kernel{objs: map[string]bool{}}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	rep, err := Run(context.Background(), Plan, steps(k, []string{"a1", "b1"}, log))
	require.NoError(t, err)
	assert.Equal(t, []string{"create thing a1", "create thing b1"}, rep.Changes)
	assert.Empty(t, k.ran, "a plan runs nothing")

	rep, err = Run(context.Background(), Apply, steps(k, []string{"a1", "b1"}, log))
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Mutations())
	assert.Equal(t, []string{"+a1", "+b1"}, k.ran)
	assert.Contains(t, logs.String(), "thing apply")
	assert.Contains(t, logs.String(), "things=2")

	logs.Reset()
	rep, err = Run(context.Background(), Apply, steps(k, []string{"a1", "b1"}, log))
	require.NoError(t, err)
	require.NotNil(t, rep)
	assert.Zero(t, rep.Mutations(), "the second apply changes nothing")
	assert.Empty(t, logs.String(), "a pass that changes nothing logs nothing")
}

func TestRunInvalidChangesNothing(t *testing.T) {
	k := &kernel{objs: map[string]bool{"old": true}}
	rep, err := Run(context.Background(), Apply, steps(k, []string{"a1", ""}, nil))
	require.Error(t, err)
	require.NotNil(t, rep)
	assert.Zero(t, rep.Mutations())
	assert.Empty(t, k.ran)
}

func TestRunCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := &kernel{objs: map[string]bool{}}
	rep, err := Run(ctx, Apply, steps(k, []string{"a1"}, nil))
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, rep)
	assert.Empty(t, k.ran)
}

func TestExecuteSkipsTheRestOfAFailedGroup(t *testing.T) {
	k := &kernel{objs: map[string]bool{}}
	changes := []Change[string]{
		{Verb: report.Create, Kind: "bridge", What: "brq1", Group: "n1", Ops: []string{"+!x"}},
		{Verb: report.Create, Kind: "vxlan", What: "vxlan-1", Group: "n1", Ops: []string{"+y"}},
		{Verb: report.Create, Kind: "bridge", What: "brq2", Group: "n2", Ops: []string{"+z"}},
		{Verb: report.Delete, Kind: "bridge", What: "brq3", Ops: []string{"-!w", "-never"}},
		{Verb: report.Delete, Kind: "bridge", What: "brq4", Ops: []string{"-v"}},
	}
	rep := &report.Report{}
	err := Execute(context.Background(), "network", changes, rep, k.do)
	require.Error(t, err)
	assert.ErrorContains(t, err, "network n1: create bridge brq1: !x: refused")
	assert.ErrorContains(t, err, "delete bridge brq3: !w: refused")
	assert.NotContains(t, err.Error(), "network : ", "an ungrouped change has no group prefix")
	assert.Equal(t, []string{"+!x", "+z", "-!w", "-v"}, k.ran,
		"n1's later change is skipped, n2 goes ahead; a failed op stops its change's later ops")
	assert.Equal(t, []string{"create bridge brq2", "delete bridge brq4"}, rep.Changes)
}

func TestExecuteStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	k := &kernel{objs: map[string]bool{}}
	changes := []Change[string]{
		{Verb: report.Create, Kind: "thing", What: "a", Ops: []string{"+a"}},
		{Verb: report.Create, Kind: "thing", What: "b", Ops: []string{"+b"}},
	}
	rep := &report.Report{}
	err := Execute(ctx, "thing", changes, rep, func(op string) error {
		cancel() // cancelled while the first change runs
		return k.do(op)
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []string{"+a"}, k.ran)
	assert.Equal(t, []string{"create thing a"}, rep.Changes)
}

func TestObserveErrorIsWrapped(t *testing.T) {
	s := steps(&kernel{objs: map[string]bool{}}, []string{"a"}, nil)
	boom := errors.New("dump interrupted")
	released := false
	s.Observe = func(context.Context, []string) (*kernel, func(), error) { return nil, func() { released = true }, boom }
	rep, err := Run(context.Background(), Apply, s)
	require.ErrorIs(t, err, boom)
	assert.ErrorContains(t, err, "read host state")
	require.NotNil(t, rep)
	assert.False(t, released, "nothing to release when observe failed")

	s = steps(&kernel{objs: map[string]bool{}}, []string{"a"}, nil)
	inner := s.Observe
	s.Observe = func(ctx context.Context, w []string) (*kernel, func(), error) {
		o, _, err := inner(ctx, w)
		return o, func() { released = true }, err
	}
	_, err = Run(context.Background(), Plan, s)
	require.NoError(t, err)
	assert.True(t, released, "observed state is released when the pass ends")
}

func TestATransactionIsOneChangeWithItsDetail(t *testing.T) {
	detail := &report.Report{}
	report.AddN(detail, report.Create, "element", 3, "set s")
	report.Add(detail, report.Create, "chain", "c")
	tx := []Change[string]{{Verb: report.Update, Kind: "transaction", What: "table inet t", Ops: []string{"+tx"}, Detail: detail}}

	planned := &report.Report{}
	Record(planned, tx)
	assert.Equal(t, 4, planned.Mutations())

	k := &kernel{objs: map[string]bool{}}
	rep := &report.Report{}
	require.NoError(t, Execute(context.Background(), "secgroup", tx, rep, k.do))
	assert.Equal(t, []string{"create element set s", "create chain c"}, rep.Changes)

	tx[0].Ops = []string{"+!tx"}
	rep = &report.Report{}
	require.Error(t, Execute(context.Background(), "secgroup", tx, rep, k.do))
	assert.Zero(t, rep.Mutations(), "a failed transaction achieved nothing")
}
