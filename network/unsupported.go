package network

import "github.com/neutrino-net/neutrino/internal/errdefs"

// refusals are the network fields Neutrino reads but does not realize yet:
// Validate refuses them with ErrUnsupported. Realizing one means deleting
// its entry here (and listing it as supported in the README).
func refusals() []errdefs.Refusal[Network] {
	return []errdefs.Refusal[Network]{
		{Path: "segments", Why: "a network of several segments (multi-provider) would be realized as one of them",
			Refused: func(n *Network) bool { return len(n.Segments) > 1 }},
	}
}
