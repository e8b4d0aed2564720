package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/router"
)

// The interop tests run our speaker in a child process inside a lab
// namespace: gobgp opens its sockets on its own goroutines, so the speaker
// peers from the namespace of its process, never from a namespace one
// goroutine switched to. The child is this test binary re-executed with
// helperEnv set; it reads one JSON request per line on stdin and answers one
// JSON line, prefixed with replyMark, on stdout.
const (
	helperEnv = "NEUTRINO_BGP_SPEAKER_HELPER"
	replyMark = "@@bgp "
)

type helperRequest struct {
	Op      string   `json:"op"` // apply, plan, fips, status, events, mem
	Desired *Desired `json:"desired,omitempty"`
	// Upsert and Deleted are the floating IP delta of op fips.
	Upsert  []router.FloatingIP `json:"upsert,omitempty"`
	Deleted []string            `json:"deleted,omitempty"`
}

type helperReply struct {
	Report Report      `json:"report"`
	Error  string      `json:"error,omitempty"`
	Status Status      `json:"status"`
	Events []PeerEvent `json:"events"`
	// Started is when the speaker process began the operation (wall clock,
	// comparable across processes), Took how long it ran there.
	Started time.Time     `json:"started"`
	Took    time.Duration `json:"took"`
	// HeapInuse and RSS describe the speaker process (op mem), in bytes.
	HeapInuse uint64 `json:"heap_inuse"`
	RSS       uint64 `json:"rss"`
}

func TestHelperSpeaker(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("the speaker process of the interop tests, not a test")
	}
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(os.Getenv(helperEnv + "_LOG"))) // e.g. debug
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	opts := []ServerOption{WithServerLogger(log), WithConnectRetry(time.Second)}
	if file := os.Getenv(helperEnv + "_PASSWORDS"); file != "" {
		pw, err := ReadPeerPasswordsFile(file)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, WithPeerPasswords(pw))
	}
	if v := os.Getenv(helperEnv + "_GR"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, WithGracefulRestart(d))
	}
	// Like the node agent: SIGTERM ends the process without stopping BGP,
	// so no NOTIFICATION tells the peers to drop the routes.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() { <-sigs; os.Exit(0) }()
	srv, err := NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRealizer(srv)
	if err != nil {
		t.Fatal(err)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 64<<20)
	ctx := context.Background()
	for in.Scan() {
		var req helperRequest
		var rep helperReply
		err := json.Unmarshal(in.Bytes(), &req)
		start := time.Now() // after decoding: the JSON pipe is the test's, not the speaker's
		if err == nil {
			switch req.Op {
			case "apply":
				var r2 *Report
				r2, err = r.Apply(ctx, *req.Desired)
				rep.Report = *r2
			case "fips":
				var r2 *Report
				r2, err = r.UpdateFloatingIPs(ctx, req.Upsert, req.Deleted)
				rep.Report = *r2
			case "plan":
				var r2 *Report
				r2, err = r.Plan(ctx, *req.Desired)
				rep.Report = *r2
			case "status":
				rep.Status, err = srv.Status(ctx)
			case "events":
				rep.Events = drain(srv.Events())
			case "mem":
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				rep.HeapInuse, rep.RSS = ms.HeapInuse, selfRSS()
			default:
				err = fmt.Errorf("unknown op %q", req.Op)
			}
		}
		rep.Started, rep.Took = start, time.Since(start)
		if err != nil {
			rep.Error = err.Error()
		}
		b, _ := json.Marshal(rep)
		fmt.Printf("%s%s\n", replyMark, b)
	}
}

// drain returns the events waiting in ch.
func drain(ch <-chan PeerEvent) []PeerEvent {
	var out []PeerEvent
	for {
		select {
		case ev := <-ch:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// selfRSS reads the process's resident set size from /proc.
func selfRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// speakerProc is the parent's end of a helper speaker.
type speakerProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan helperReply
	stderr  *lab.SafeBuffer
}

// signal sends sig to the speaker process and waits for it to end.
func (p *speakerProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		p.t.Fatalf("signal the speaker: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("the speaker did not end on %v", sig)
	}
}

// startSpeaker starts a helper speaker inside h. The lab is not told about
// it: it is stopped by PID at cleanup, here.
func startSpeaker(t *testing.T, l *lab.Lab, h *namespace.Handle, env ...string) *speakerProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := l.Command(context.Background(), h, exe, "-test.run=^TestHelperSpeaker$", "-test.v")
	cmd.Env = append(append(os.Environ(), helperEnv+"=1"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &speakerProc{t: t, cmd: cmd, replies: make(chan helperReply, 1), stderr: &lab.SafeBuffer{}}
	cmd.Stderr = p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.stdin.Close()
		lab.Stop(cmd)
		if t.Failed() || os.Getenv(helperEnv+"_LOG") != "" {
			t.Logf("speaker process log:\n%s", p.stderr.String())
		}
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			if b, ok := strings.CutPrefix(sc.Text(), replyMark); ok {
				var r helperReply
				if err := json.Unmarshal([]byte(b), &r); err != nil {
					r.Error = "bad reply: " + err.Error()
				}
				p.replies <- r
			}
		}
		close(p.replies)
	}()
	return p
}

func (p *speakerProc) call(req helperRequest) helperReply {
	p.t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("speaker process: %v\n%s", err, p.stderr.String())
	}
	select {
	case r, ok := <-p.replies:
		if !ok {
			p.t.Fatalf("speaker process exited\n%s", p.stderr.String())
		}
		return r
	case <-time.After(2 * time.Minute):
		p.t.Fatalf("speaker process did not answer %s", req.Op)
	}
	return helperReply{}
}

// apply applies d and fails the test on error.
func (p *speakerProc) apply(d Desired) helperReply {
	p.t.Helper()
	r := p.call(helperRequest{Op: "apply", Desired: &d})
	if r.Error != "" {
		p.t.Fatalf("apply: %s", r.Error)
	}
	return r
}

// events returns the peer events since the last call.
func (p *speakerProc) events() []PeerEvent {
	p.t.Helper()
	return p.call(helperRequest{Op: "events"}).Events
}

func (p *speakerProc) status() Status {
	p.t.Helper()
	r := p.call(helperRequest{Op: "status"})
	if r.Error != "" {
		p.t.Fatalf("status: %s", r.Error)
	}
	return r.Status
}

// waitFor polls cond every 20 ms until it holds or timeout passes; it
// returns whether it held. Bounded waits only: never a timing assertion.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
