//go:build !linux

package nl

func isInterrupted(error) bool { return false }

func isLinkNotFound(error) bool { return false }
