package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// agentProc is a running child (childMode) serving one node.
type agentProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	logs *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAgent runs this executable in childMode for node n.
func (w *world) startAgent(n *node) (*agentProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, childMode, n.path(), n.prefix)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w.addChild(cmd.Process)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<20), 64<<20)
	return &agentProc{cmd: cmd, in: in, out: sc, logs: logs}, nil
}

// call sends one request and waits for its answer; an error in the answer
// is returned as an error.
func (a *agentProc) call(req request) (response, error) {
	b, _ := json.Marshal(req)
	if _, err := a.in.Write(append(b, '\n')); err != nil {
		return response{}, fmt.Errorf("agent: %w\n%s", err, a.logs)
	}
	if !a.out.Scan() {
		return response{}, fmt.Errorf("agent exited (%v) during %s\n%s", a.out.Err(), req.Op, a.logs)
	}
	var res response
	if err := json.Unmarshal(a.out.Bytes(), &res); err != nil {
		return response{}, err
	}
	if res.Error != "" {
		return res, fmt.Errorf("%s %s: %s\n%s", req.Op, req.Name, res.Error, res.Report)
	}
	return res, nil
}

// stop asks the agent to quit, and kills it if it does not within a
// minute.
func (a *agentProc) stop() {
	_, _ = a.call(request{Op: "quit"})
	a.in.Close()
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = a.cmd.Process.Kill()
		<-done
	}
}
