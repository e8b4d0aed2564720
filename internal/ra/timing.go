package ra

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Timing holds when RAs go out. The defaults are radvd's as Neutron
// configures it (min_rtr_adv_interval 30, max_rtr_adv_interval 100) and RFC
// 4861's router constants.
type Timing struct {
	// MinInterval and MaxInterval bound the interval between unsolicited
	// RAs, drawn uniformly between them (RFC 4861 §6.2.4).
	MinInterval, MaxInterval time.Duration
	// InitialCount RAs after a link starts or changes go out at most
	// InitialInterval apart (MAX_INITIAL_RTR_ADVERTISEMENTS and
	// MAX_INITIAL_RTR_ADVERT_INTERVAL), so hosts learn a change quickly.
	InitialCount    int
	InitialInterval time.Duration
	// MaxResponseDelay is the longest random wait before answering a router
	// solicitation (MAX_RA_DELAY_TIME), so that routers on a link do not
	// answer at once.
	MaxResponseDelay time.Duration
	// MinDelayBetweenRAs keeps multicast RAs at least this far apart
	// (MIN_DELAY_BETWEEN_RAS): a host soliciting in a loop cannot make the
	// router flood the link.
	MinDelayBetweenRAs time.Duration
	// FinalCount is how many final RAs (router lifetime 0) go out when a
	// link stops advertising (MAX_FINAL_RTR_ADVERTISEMENTS).
	FinalCount int
}

// DefaultTiming returns radvd's timing as Neutron configures it.
func DefaultTiming() Timing {
	return Timing{
		MinInterval:        30 * time.Second,
		MaxInterval:        100 * time.Second,
		InitialCount:       3,
		InitialInterval:    16 * time.Second,
		MaxResponseDelay:   500 * time.Millisecond,
		MinDelayBetweenRAs: 3 * time.Second,
		FinalCount:         3,
	}
}

// Validate checks the intervals the way radvd checks its configuration.
func (t Timing) Validate() error {
	switch {
	case t.MaxInterval <= 0:
		return fmt.Errorf("max interval %v: must be positive", t.MaxInterval)
	case t.MinInterval <= 0 || t.MinInterval > t.MaxInterval:
		return fmt.Errorf("min interval %v: must be positive and at most the max interval %v", t.MinInterval, t.MaxInterval)
	case t.InitialCount < 0 || t.FinalCount < 0 || t.MaxResponseDelay < 0 || t.MinDelayBetweenRAs < 0 || t.InitialInterval < 0:
		return fmt.Errorf("negative count or delay in %+v", t)
	}
	return nil
}

// RouterLifetime is how long hosts keep the router as a default router:
// radvd's AdvDefaultLifetime default, three max intervals (at most 9000 s).
func (t Timing) RouterLifetime() time.Duration {
	// RAs carry whole seconds: round up, so a sub-second interval still
	// gives a lifetime.
	return min((3*t.MaxInterval + time.Second - 1).Truncate(time.Second), maxRouterLifetime)
}

// OptionLifetime is the lifetime of the RDNSS, DNSSL and route options:
// three max intervals, as RFC 8106 recommends so that one lost RA does not
// expire them.
func (t Timing) OptionLifetime() time.Duration { return t.RouterLifetime() }

// next returns the wait before the next unsolicited RA, sent is how many
// went out since the link started or changed.
func (t Timing) next(sent int) time.Duration {
	d := t.MinInterval
	if span := t.MaxInterval - t.MinInterval; span > 0 {
		d += rand.N(span)
	}
	if sent < t.InitialCount && t.InitialInterval > 0 {
		d = min(d, t.InitialInterval)
	}
	return d
}

// responseDelay returns a random wait before answering a solicitation.
func (t Timing) responseDelay() time.Duration {
	if t.MaxResponseDelay <= 0 {
		return 0
	}
	return rand.N(t.MaxResponseDelay)
}
