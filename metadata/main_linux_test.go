package metadata

import (
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/lab"
)

func TestMain(m *testing.M) { lab.Main(m) }

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
