package secgroup

import (
	"errors"
	"reflect"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// MergeRules merges rules listed on their own, as Neutron's API lists them
// (GET /v2.0/security-group-rules, each naming its group in
// security_group_id), into the rules of their groups. It returns copies of
// groups: a group that receives rules gets a new rule list; the others
// share theirs with the input.
//
// A rule whose ID its group already has (nested, or earlier in rules) is
// the same rule listed twice, as a document holding both API listings
// would: it is merged once if identical, and a conflict otherwise. The
// errors name document paths under "security_group_rules" and the rule:
// ErrInvalid for a missing security_group_id, ErrNotFound for a group that
// does not exist, ErrConflict for a rule that differs from the one with its
// ID, lives in another group, or duplicates another rule of its group by
// Neutron's comparison. Rules in error are left out of the result.
func MergeRules(groups []SecurityGroup, rules []Rule) ([]SecurityGroup, error) {
	if len(rules) == 0 {
		return groups, nil
	}
	out := slices.Clone(groups)
	pos := make(map[string]int, len(out))
	type owned struct {
		group string
		rule  Rule
	}
	byID := map[string]owned{}
	for i := range out {
		g := &out[i]
		if _, dup := pos[g.ID]; !dup {
			pos[g.ID] = i
		}
		for j := range g.Rules {
			if r := &g.Rules[j]; r.ID != "" {
				if _, seen := byID[r.ID]; !seen {
					byID[r.ID] = owned{g.ID, *r}
				}
			}
		}
	}
	grown := map[int]bool{}
	keys := map[int]map[ruleKey]string{} // by group position, built on first use
	keysOf := func(i int) map[ruleKey]string {
		if keys[i] == nil {
			keys[i] = map[ruleKey]string{}
			for _, o := range out[i].Rules {
				if o.Validate() == nil {
					keys[i][o.key()] = o.ID
				}
			}
		}
		return keys[i]
	}
	var errs []error
	for k := range rules {
		r := rules[k]
		path := errdefs.Index("security_group_rules", k)
		i, ok := pos[r.SecurityGroupID]
		switch {
		case r.SecurityGroupID == "":
			errs = append(errs, errdefs.Invalid(path+".security_group_id", "required: the group the rule belongs to (security group rule %s)", r.ID))
			continue
		case !ok:
			errs = append(errs, errdefs.NotFound(path+".security_group_id", "security group %s does not exist (security group rule %s)", r.SecurityGroupID, r.ID))
			continue
		}
		if prev, seen := byID[r.ID]; seen && r.ID != "" {
			switch {
			case prev.group != r.SecurityGroupID:
				errs = append(errs, errdefs.Conflict(path+".id", "the rule is also in security group %s, not %s (security group rule %s)", prev.group, r.SecurityGroupID, r.ID))
			case !sameRule(prev.rule, r):
				errs = append(errs, errdefs.Conflict(path, "differs from the rule with its ID in security group %s (security group rule %s)", prev.group, r.ID))
			}
			continue // listed twice: merged once
		}
		g := &out[i]
		if r.Validate() == nil {
			if other, dup := keysOf(i)[r.key()]; dup {
				errs = append(errs, errdefs.Conflict(path, "duplicates rule %s of security group %s (security group rule %s)", other, g.ID, r.ID))
				continue
			}
			keysOf(i)[r.key()] = r.ID
		}
		if !grown[i] {
			g.Rules = slices.Clip(slices.Clone(g.Rules)) // never append into the caller's list
			grown[i] = true
		}
		g.Rules = append(g.Rules, r)
		if r.ID != "" {
			byID[r.ID] = owned{g.ID, r}
		}
	}
	return out, errors.Join(errs...)
}

// sameRule compares two listings of one rule; security_group_id may be left
// out of the nested one (Defaults fills it).
func sameRule(a, b Rule) bool {
	a.SecurityGroupID, b.SecurityGroupID = "", ""
	return reflect.DeepEqual(a, b)
}
