package bgp

import (
	"testing"

	"github.com/neutrino-net/neutrino/internal/lab"
)

func TestMain(m *testing.M) { lab.Main(m) }
