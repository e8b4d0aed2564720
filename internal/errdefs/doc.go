// Package errdefs holds the sentinel errors of Neutrino and the field-path error
// that every model's Validate returns.
//
// The root package re-exports the sentinels (neutrino.ErrInvalid = errdefs.ErrInvalid),
// so callers test errors from any package with errors.Is(err, neutrino.ErrInvalid).
// Errors name the object and the path of the bad field, in the JSON vocabulary of
// the desired-state document:
//
//	subnets[2].allocation_pools[0].start: 10.0.1.300 is not an IP address
package errdefs
