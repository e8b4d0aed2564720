package vpn

import (
	"errors"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// The strongSwan proposal keywords of Neutron's algorithm names, as the
// reference strongSwan driver translates them (its DIALECT_MAP). A name
// Neutron knows but this realizer refuses is in refused, with why.
var (
	encryptions = map[string]string{
		"aes-128": "aes128", "aes-192": "aes192", "aes-256": "aes256", "3des": "3des",
	}
	integrities = map[string]string{
		"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512", "aes-xcbc": "aesxcbc",
	}
	groups = map[string]string{
		"group2": "modp1024", "group5": "modp1536", "group14": "modp2048", "group15": "modp3072",
		"group16": "modp4096", "group17": "modp6144", "group18": "modp8192",
		"group19": "ecp256", "group20": "ecp384", "group21": "ecp521",
		"group22": "modp1024s160", "group23": "modp2048s224", "group24": "modp2048s256",
		"group25": "ecp192", "group26": "ecp224", "group27": "ecp224bp", "group28": "ecp256bp",
		"group29": "ecp384bp", "group30": "ecp512bp", "group31": "curve25519",
	}
	refused = map[string]string{
		"aes-cmac":    "needs strongSwan's cmac plugin, which is not in the plugin set the realizer loads (Debian's standard plugins)",
		"aes-128-ctr": "the vpn-aes-ctr extension's CTR modes need strongSwan's ctr plugin, which the realizer does not load",
		"aes-192-ctr": "the vpn-aes-ctr extension's CTR modes need strongSwan's ctr plugin, which the realizer does not load",
		"aes-256-ctr": "the vpn-aes-ctr extension's CTR modes need strongSwan's ctr plugin, which the realizer does not load",
	}
)

// aead returns the strongSwan keyword of an AEAD name
// (aes-{128,192,256}-{ccm,gcm}-{8,12,16}), or "".
func aead(name string) string {
	for _, bits := range []string{"128", "192", "256"} {
		for _, mode := range []string{"ccm", "gcm"} {
			for _, icv := range []string{"8", "12", "16"} {
				if name == "aes-"+bits+"-"+mode+"-"+icv {
					return "aes" + bits + mode + icv
				}
			}
		}
	}
	return ""
}

// algorithm checks one algorithm field: "" is Neutron's default (def), a
// name in table or an AEAD (when aeadOK) is realized, a refused name wraps
// ErrUnsupported, anything else ErrInvalid.
func algorithm(field, name, def string, table map[string]string, aeadOK bool) (string, error) {
	if name == "" {
		name = def
	}
	if kw, ok := table[name]; ok {
		return kw, nil
	}
	if aeadOK {
		if kw := aead(name); kw != "" {
			return kw, nil
		}
	}
	if why, ok := refused[name]; ok {
		return "", errdefs.Unsupported(field, "%s is not realized by Neutrino: %s", name, why)
	}
	return "", errdefs.Invalid(field, "%q is not a Neutron %s", name, strings.ReplaceAll(field, "_", " "))
}

// proposal is the strongSwan proposal string of a policy:
// <enc>-<integ>-<dh>, without the integrity algorithm for an AEAD in ESP
// (as Neutron's driver writes it; in IKE strongSwan takes it as the PRF).
func proposal(enc, auth, pfs string, esp bool) string {
	if esp && (strings.Contains(enc, "gcm") || strings.Contains(enc, "ccm")) {
		return enc + "-" + pfs
	}
	return enc + "-" + auth + "-" + pfs
}

// Validate checks the policy's fields, refusing by name (ErrUnsupported)
// the algorithms Neutron knows and the realizer does not load.
func (p *IKEPolicy) Validate() error {
	_, err := p.proposal()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if p.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "an ID is required"))
	}
	switch p.Phase1NegotiationMode {
	case "", "main", "aggressive":
	default:
		errs = append(errs, errdefs.Invalid("phase1_negotiation_mode", "%q is not main or aggressive", p.Phase1NegotiationMode))
	}
	switch p.IKEVersion {
	case "", "v1", "v2":
	default:
		errs = append(errs, errdefs.Invalid("ike_version", "%q is not v1 or v2", p.IKEVersion))
	}
	if err := p.Lifetime.validate(); err != nil {
		errs = append(errs, err)
	}
	return joinErrs(errs)
}

func (p *IKEPolicy) proposal() (string, error) {
	return policyProposal(p.EncryptionAlgorithm, p.AuthAlgorithm, p.PFS, false)
}

// version is the vici IKE version (1 or 2).
func (p *IKEPolicy) version() string {
	if p.IKEVersion == "v2" {
		return "2"
	}
	return "1"
}

// Validate checks the policy's fields. AH (transform_protocol ah or
// ah-esp) and transport mode are refused (ErrUnsupported).
func (p *IPsecPolicy) Validate() error {
	_, err := p.proposal()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if p.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "an ID is required"))
	}
	switch p.TransformProtocol {
	case "", "esp":
	case "ah", "ah-esp":
		errs = append(errs, errdefs.Unsupported("transform_protocol", "%s is not realized by Neutrino: the user-space ESP path (kernel-libipsec) has no AH, "+
			"and Neutron's reference driver refuses ah-esp", p.TransformProtocol))
	default:
		errs = append(errs, errdefs.Invalid("transform_protocol", "%q is not esp, ah or ah-esp", p.TransformProtocol))
	}
	switch p.EncapsulationMode {
	case "", "tunnel":
	case "transport":
		errs = append(errs, errdefs.Unsupported("encapsulation_mode", "transport is not realized by Neutrino: a site-to-site connection joins subnets, which needs tunnel mode"))
	default:
		errs = append(errs, errdefs.Invalid("encapsulation_mode", "%q is not tunnel or transport", p.EncapsulationMode))
	}
	if err := p.Lifetime.validate(); err != nil {
		errs = append(errs, err)
	}
	return joinErrs(errs)
}

func (p *IPsecPolicy) proposal() (string, error) {
	return policyProposal(p.EncryptionAlgorithm, p.AuthAlgorithm, p.PFS, true)
}

// policyProposal checks a policy's three algorithms, with Neutron's
// defaults (aes-128, sha1, group5), and returns its proposal.
func policyProposal(encName, authName, pfsName string, esp bool) (string, error) {
	enc, e1 := algorithm("encryption_algorithm", encName, "aes-128", encryptions, true)
	auth, e2 := algorithm("auth_algorithm", authName, "sha1", integrities, false)
	dh, e3 := algorithm("pfs", pfsName, "group5", groups, false)
	if err := errors.Join(e1, e2, e3); err != nil {
		return "", err
	}
	return proposal(enc, auth, dh, esp), nil
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}
