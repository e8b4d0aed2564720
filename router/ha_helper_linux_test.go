package router

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const haTestAgentEnv = "NEUTRINO_HA_TEST_AGENT"

type haTestAgent struct {
	Dir  string       `json:"dir"`
	Spec HAHelperSpec `json:"spec"`
}

// haTestChild turns this test binary into an HA helper (RunHAHelperFromEnv)
// or into a stand-in agent that spawns one and waits to be killed.
func haTestChild() {
	if ok, err := RunHAHelperFromEnv(nil); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, "ha helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if v := os.Getenv(haTestAgentEnv); v != "" {
		var a haTestAgent
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			os.Exit(2)
		}
		exe, _ := os.Executable()
		os.Unsetenv(haTestAgentEnv)
		if _, err := SpawnHAHelper(exe, a.Dir, a.Spec); err != nil {
			fmt.Fprintln(os.Stderr, "spawn:", err)
			os.Exit(3)
		}
		time.Sleep(time.Hour) // an agent at work, until SIGKILL
		os.Exit(0)
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie waiting for its new parent to reap it is gone for us.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// TestHAHelperOutlivesAgent: node1's member runs in a helper process
// spawned by an agent process. SIGKILL of the agent causes no failover and
// no second master; a new agent adopts the helper by its pid file; the
// helper's SIGTERM gives the router to node2 and its addresses back.
func TestHAHelperOutlivesAgent(t *testing.T) {
	w := newHAWorld(t, 100*time.Millisecond)
	dir := t.TempDir()
	req, err := json.Marshal(haTestAgent{Dir: dir, Spec: HAHelperSpec{Namespace: w.nodes[0].Path(), Config: w.config(0)}})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(exe)
	agent.Env = append(os.Environ(), haTestAgentEnv+"="+string(req))
	agent.Stderr = os.Stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	helper := 0
	t.Cleanup(func() {
		_ = agent.Process.Kill()
		_ = agent.Wait()
		if helper != 0 && alive(helper) {
			_ = syscall.Kill(helper, syscall.SIGKILL)
		}
	})
	state := func() HAState {
		b, _ := os.ReadFile(dir + "/" + HAStateFile)
		return HAState(b)
	}
	waitUntil(t, "helper active", func() bool { return state() == HAActive })
	if helper, err = AdoptHAHelper(dir); err != nil || helper == 0 {
		t.Fatalf("helper not found: %d, %v", helper, err)
	}
	w.start(1)
	waitUntil(t, "node2 standby", func() bool { return w.members[1].State() == HAStandby })

	if err := agent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = agent.Wait()
	holdsFor(t, "no failover after the agent's SIGKILL", 2*time.Second, func() bool {
		return alive(helper) && state() == HAActive && w.members[1].State() == HAStandby &&
			hasVIP(t, w.nodes[0], "qg-x") && !hasVIP(t, w.nodes[1], "qg-x")
	})
	if again, err := AdoptHAHelper(dir); err != nil || again != helper {
		t.Fatalf("re-adoption found %d (%v), want %d", again, err, helper)
	}

	if err := syscall.Kill(helper, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "node2 active", func() bool { return w.members[1].State() == HAActive })
	waitUntil(t, "helper gone", func() bool { return !alive(helper) })
	if hasVIP(t, w.nodes[0], "qg-x") || hasVIP(t, w.nodes[0], "qr-x") {
		t.Fatal("the stopped helper left its addresses")
	}
	if pid, _ := AdoptHAHelper(dir); pid != 0 {
		t.Fatalf("a gone helper adopted: %d", pid)
	}
}
