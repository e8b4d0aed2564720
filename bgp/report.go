package bgp

import (
	"errors"

	"github.com/neutrino-net/neutrino/internal/report"
)

// Report counts the mutations an Apply issued (or a Plan would issue), per
// kind: "speaker" (the BGP global: AS and router ID), "peer" and "route".
// Changes lists them as readable lines, e.g. "advertise 192.0.2.0/24 via
// 198.18.0.10". Every realizer returns this same type.
type Report = report.Report

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func joinErrsOrNil(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return joinErrs(errs)
}
