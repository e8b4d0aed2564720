package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/neutrino-net/neutrino/namespace"
)

// HAHelperEnv names, in a helper process's environment, the spec file it
// runs. A program that may spawn helpers calls RunHAHelperFromEnv first
// thing in main, so one binary is agent and helper, as keepalived is
// spawned by, and outlives, Neutron's L3 agent.
const HAHelperEnv = "NEUTRINO_HA_HELPER"

// HAHelperSpec is what a helper runs: one member, in the namespace at
// Namespace (a path), writing its ha_state to StateFile on every
// transition (Neutron's <ha_confs>/<router>/state).
type HAHelperSpec struct {
	Namespace string   `json:"namespace"`
	Config    HAConfig `json:"config"`
	StateFile string   `json:"state_file"`
}

const (
	haSpecFile = "spec.json"
	haPidFile  = "pid"
	// HAStateFile is the file in a helper's directory holding its ha_state.
	HAStateFile = "state"
)

// SpawnHAHelper starts exe as the helper of spec in dir (its spec, pid and
// state files), in a session of its own so that neither the agent's death
// nor its terminal's signals reach it. It returns the helper's PID.
func SpawnHAHelper(exe, dir string, spec HAHelperSpec) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	spec.StateFile = filepath.Join(dir, HAStateFile)
	b, err := json.Marshal(spec)
	if err != nil {
		return 0, err
	}
	specPath := filepath.Join(dir, haSpecFile)
	if err := os.WriteFile(specPath, b, 0o600); err != nil {
		return 0, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), HAHelperEnv+"="+specPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("ha helper for router %s: %w", spec.Config.RouterID, err)
	}
	pid := cmd.Process.Pid
	// Not waited for: the helper is meant to outlive this process. Release
	// drops our handle; whoever adopts it finds it by its pid file.
	_ = cmd.Process.Release()
	if err := os.WriteFile(filepath.Join(dir, haPidFile), []byte(strconv.Itoa(pid)), 0o600); err != nil {
		return pid, err
	}
	return pid, nil
}

// AdoptHAHelper returns the PID of the helper running for dir, or 0 when
// none is: an agent that restarts re-adopts its helpers instead of starting
// second ones. The PID must be alive and have dir's spec in its
// environment (a recycled PID does not).
func AdoptHAHelper(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, haPidFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil {
		return 0, fmt.Errorf("ha helper pid file in %s: %w", dir, err)
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return 0, nil // gone
	}
	want := []byte(HAHelperEnv + "=" + filepath.Join(dir, haSpecFile))
	for _, kv := range bytes.Split(env, []byte{0}) {
		if bytes.Equal(kv, want) {
			return pid, nil
		}
	}
	return 0, nil
}

// RunHAHelperFromEnv runs the helper named by HAHelperEnv until SIGTERM or
// SIGINT, then stops the member (a master sends priority 0 and gives its
// addresses back). It reports false at once when the variable is unset.
func RunHAHelperFromEnv(log *slog.Logger) (bool, error) {
	specPath := os.Getenv(HAHelperEnv)
	if specPath == "" {
		return false, nil
	}
	b, err := os.ReadFile(specPath)
	if err != nil {
		return true, err
	}
	var spec HAHelperSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return true, fmt.Errorf("ha helper spec %s: %w", specPath, err)
	}
	ns, err := namespace.OpenPath(spec.Namespace)
	if err != nil {
		return true, err
	}
	defer ns.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg := spec.Config
	cfg.OnChange = func(s HAState) {
		// Written whole and renamed, so a reader never sees half a state.
		tmp := spec.StateFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err == nil {
			_ = os.Rename(tmp, spec.StateFile)
		}
	}
	m, err := StartHA(ns, cfg, log)
	if err != nil {
		return true, err
	}
	<-ctx.Done()
	return true, m.Stop()
}
