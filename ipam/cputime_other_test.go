//go:build !unix

package ipam

func cpuTime() int64 { return 0 }
