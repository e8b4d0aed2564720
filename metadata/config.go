package metadata

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Neutron's constants of the metadata path.
const (
	// Address is the metadata service address guests ask.
	Address = "169.254.169.254"
	// AddressV6 is its IPv6 counterpart on the DHCP port (link-local).
	AddressV6 = "fe80::a9fe:a9fe"
	// RouterPort is where the router namespace's listener waits and the
	// router's redirect sends requests (Neutron's METADATA_PORT).
	RouterPort = 9697
	// DefaultNovaURL is nova_metadata_host:nova_metadata_port's default.
	DefaultNovaURL = "http://127.0.0.1:8775"
	// DefaultTimeout is the upstream timeout of the metadata agent.
	DefaultTimeout = 60 * time.Second
)

// Config is the metadata agent's configuration.
type Config struct {
	// NovaURL is the Nova metadata endpoint, http or https
	// (nova_metadata_protocol://nova_metadata_host:nova_metadata_port).
	// The request's path and query are appended to its path.
	NovaURL string
	// SharedSecret is metadata_proxy_shared_secret. Required.
	SharedSecret []byte
	// TLS configures an https NovaURL (CA, client certificate,
	// InsecureSkipVerify for nova_metadata_insecure). Nil: system roots.
	TLS *tls.Config
	// Timeout of one upstream request (0: DefaultTimeout).
	Timeout time.Duration
	// RouterPort is the router listener's port (0: RouterPort).
	RouterPort uint16
	// RatePerSource is how many requests per second one source address
	// may make in one router or network, with a burst of as many (0: 10,
	// Neutron's rate-limiting defaults; negative: unlimited).
	RatePerSource float64
	// MaxConcurrent caps requests in flight to Nova across all listeners
	// (0: 256).
	MaxConcurrent int
}

// String shows the configuration without the shared secret.
func (c Config) String() string {
	return fmt.Sprintf("metadata.Config{NovaURL: %q, SharedSecret: %s, Timeout: %v, RouterPort: %d}", c.NovaURL, redacted(c.SharedSecret), c.Timeout, c.RouterPort)
}

// GoString is String, so that %#v does not print the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration without the shared secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("nova_url", c.NovaURL), slog.String("shared_secret", redacted(c.SharedSecret)))
}

func redacted(secret []byte) string {
	if len(secret) == 0 {
		return "(none)"
	}
	return "(redacted)"
}

// ReadSecretFile reads a shared secret from a file, trailing newline
// removed. The error names the file, never its content.
func ReadSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("metadata shared secret: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return nil, errdefs.Invalid("metadata_proxy_shared_secret", "file %s is empty", path)
	}
	return []byte(s), nil
}

// validated checks c and fills its defaults.
func (c Config) validated() (Config, *url.URL, error) {
	if len(c.SharedSecret) == 0 {
		return c, nil, errdefs.Invalid("metadata_proxy_shared_secret", "no shared secret configured: metadata stays off (Nova refuses unsigned requests, and an empty secret is forgeable)")
	}
	if c.NovaURL == "" {
		c.NovaURL = DefaultNovaURL
	}
	u, err := url.Parse(c.NovaURL)
	if err != nil {
		return c, nil, errdefs.Invalid("nova_metadata_url", "%q: %v", c.NovaURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, nil, errdefs.Invalid("nova_metadata_url", "%q is not an http or https URL with a host", c.NovaURL)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.RouterPort == 0 {
		c.RouterPort = RouterPort
	}
	if c.RatePerSource == 0 {
		c.RatePerSource = 10
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 256
	}
	return c, u, nil
}

// Sign is the instance ID's signature as Nova checks it:
// hmac.new(secret, instance_id, hashlib.sha256).hexdigest().
func Sign(secret []byte, instanceID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(instanceID))
	return hex.EncodeToString(m.Sum(nil))
}

// TLSConfig builds the client TLS of an https NovaURL from Neutron's
// options: auth_ca_cert (caFile, "" for the system roots),
// nova_client_cert and nova_client_priv_key (both or neither), and
// nova_metadata_insecure.
func TLSConfig(caFile, certFile, keyFile string, insecure bool) (*tls.Config, error) {
	c := &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // nova_metadata_insecure is the operator's choice
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("auth_ca_cert: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, errdefs.Invalid("auth_ca_cert", "%s holds no PEM certificate", caFile)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errdefs.Invalid("nova_client_cert", "a client certificate needs its key and the other way round")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("nova_client_cert: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
