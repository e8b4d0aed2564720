// Package naming derives Neutron's device and namespace names from object
// IDs. Device names follow Neutron's rule (prefix + ID)[:14]: a 3-character
// prefix keeps the first 11 characters of the UUID, one byte under the
// kernel's 15-byte IFNAMSIZ limit. Namespace names keep the whole ID behind
// the node prefix.
package naming
