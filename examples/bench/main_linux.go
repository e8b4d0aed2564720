package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == childMode {
		if err := runChild(os.Args[2], os.Args[3], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench agent:", err)
			os.Exit(1)
		}
		return
	}
	var (
		cfg      config
		quick    = flag.Bool("quick", false, "a tenth of the default size, one repetition: finishes in under a minute")
		jsonFile = flag.String("json", "", "also write the figures as JSON to this file")
		s        Size
	)
	flag.IntVar(&cfg.reps, "reps", 0, "repetitions of every measurement, each side on a fresh node (default 3, 1 with --quick)")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of Neutrino's first bring-up to this file")
	flag.DurationVar(&cfg.settle, "settle", 0, "pause after removing a node, for the kernel's background namespace cleanup (default 2s, 0.5s with --quick)")
	flag.BoolVar(&cfg.verbose, "v", false, "log every measured operation")
	flag.IntVar(&s.Routers, "routers", 0, "routers (default 100, 10 with --quick)")
	flag.IntVar(&s.Ports, "ports", 0, "instance ports (default 1000, 100 with --quick)")
	flag.IntVar(&s.Networks, "networks", 0, "tenant networks (default 100, 10 with --quick)")
	flag.IntVar(&s.Rules, "rules", 0, "rules per security group (default 10)")
	flag.IntVar(&s.Groups, "groups", 0, "security groups of the instance ports (default 10)")
	flag.IntVar(&s.Members, "members", 0, "members of the remote group in the scale variant (default 10000)")
	flag.IntVar(&s.FIPs, "fips", 0, "floating IPs of the scale variant's router (default 10000)")
	flag.Parse()
	cfg.size = fullSize
	if *quick {
		cfg.size = quickSize
	}
	for _, x := range []struct{ flag, def *int }{{&s.Routers, &cfg.size.Routers}, {&s.Ports, &cfg.size.Ports},
		{&s.Networks, &cfg.size.Networks}, {&s.Rules, &cfg.size.Rules}, {&s.Groups, &cfg.size.Groups},
		{&s.Members, &cfg.size.Members}, {&s.FIPs, &cfg.size.FIPs}} {
		if *x.flag > 0 {
			*x.def = *x.flag
		}
	}
	if cfg.settle == 0 {
		cfg.settle = map[bool]time.Duration{false: 2 * time.Second, true: 500 * time.Millisecond}[*quick]
	}
	if cfg.reps <= 0 {
		cfg.reps = map[bool]int{false: 3, true: 1}[*quick]
	}
	cfg.realizerReps = 5
	cfg.command = "go run ./examples/bench " + strings.Join(os.Args[1:], " ")
	cfg.log = os.Stderr
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (it creates network namespaces)")
		os.Exit(2)
	}
	os.Exit(benchMain(cfg, *jsonFile))
}

func benchMain(cfg config, jsonFile string) int {
	w, err := newWorld("nb" + strconv.FormatInt(int64(os.Getpid()), 36) + "-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nbench: %v, cleaning up\n", s)
		_ = w.cleanup()
		os.Exit(130)
	}()
	res, err := run(w, cfg)
	code := 0
	if err != nil {
		fmt.Fprintln(os.Stderr, "\nbench: FAILED:", err)
		code = 1
	}
	signal.Stop(sigs)
	if cerr := w.cleanup(); cerr != nil {
		fmt.Fprintln(os.Stderr, "bench: cleanup:", cerr)
		code = 1
	}
	if left := w.leftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "bench: left behind: %v\n", left)
		code = 1
	}
	if err != nil {
		return code
	}
	res.print(os.Stdout)
	if res.Profile != "" {
		fmt.Printf("\nCPU profile of Neutrino's first bring-up: go tool pprof -top %s\n", res.Profile)
	}
	if jsonFile != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(jsonFile, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	return code
}
