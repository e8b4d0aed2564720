// Package option is the one shape of every realizer's functional options:
//
//	type Option func(*config) error
//
// An option checks its own value and returns an error naming the option's
// field (wrapping errdefs.ErrInvalid); NewRealizer applies all options with
// Apply and fails on any error. A bad value is never clamped silently, and
// an option never stashes an error for later.
package option
