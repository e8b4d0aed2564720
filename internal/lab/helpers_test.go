package lab

import "github.com/neutrino-net/neutrino/namespace"

func managerList(prefix string) ([]string, error) { return namespace.NewManager(prefix).List() }
