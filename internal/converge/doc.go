// Package converge is the one convergence engine every realizer runs on.
//
// A realizer supplies three steps as data, not as code that mutates:
//
//	validate(desired) → want     pure; an error changes nothing
//	observe(want)     → observed one dump per kind of kernel object
//	plan(want, obs)   → []Change pure; each Change carries the operations
//	                               that realize it, as values
//
// and one function that performs a single operation against the kernel.
// Run sequences the steps; Execute runs a plan: it checks the context
// before each change, runs the changes in order, skips the rest of a
// change's group (one network, one port, one router) after one of its
// changes fails, records each success in the one report.Report and logs
// one summary line per pass with the realizer's injected logger.
//
// Because a plan is data, it can be printed, compared and tested without
// root: a test feeds a fake observed state to plan and reads the Changes,
// or runs Execute with a fake kernel to prove that a second plan is empty
// (the transcript habit of tailscale's router tests).
package converge
