// Package lab builds throwaway test worlds out of network namespaces for
// Neutrino's privileged and interop tests.
//
// Every namespace a lab makes carries a per-run prefix ("nt<pid>-<n>-") and is
// removed by t.Cleanup whether the test passes or fails; processes a lab
// starts are stopped by PID. Main wraps a package's TestMain: it removes what
// earlier crashed runs left (prefixes whose PID is dead), runs the tests, and
// fails the run if any namespace with this run's prefix, or any device with a
// Neutrino name in the machine's own namespace, is left behind.
//
// Tests never touch the machine's own namespace: the "host" of a realizer
// under test is itself a lab namespace, and traffic only flows between lab
// namespaces, on addresses from 100.64.0.0/10, 198.18.0.0/15 or the
// documentation ranges.
package lab
