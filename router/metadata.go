package router

// WithMetadataPort redirects, in every router namespace, TCP to
// 169.254.169.254:80 that comes in on an internal (qr-) interface to port
// in that namespace, where a metadata proxy listens (the metadata
// package's Realizer); 0, the default, redirects nothing. As Neutron's L3
// agent does it (metadata_driver.py): a nat prerouting REDIRECT, and an
// input rule that refuses connections to port not made by the redirect,
// so the proxy is not reachable from outside under another address.
func WithMetadataPort(port uint16) Option {
	return func(o *options) error {
		o.metadataPort = port
		return nil
	}
}
