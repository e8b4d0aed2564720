package etcdstore

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/ipam"
)

// Store keeps reservations under a prefix of etcd.
type Store struct {
	client  *clientv3.Client
	prefix  string
	timeout time.Duration
}

var _ ipam.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithTimeout bounds each request (default 5s): ipam.Store's methods take
// no context.
func WithTimeout(d time.Duration) Option { return func(s *Store) { s.timeout = d } }

// New returns the store under prefix through client, which the caller keeps.
func New(client *clientv3.Client, prefix string, opts ...Option) *Store {
	s := &Store{client: client, prefix: strings.TrimSuffix(prefix, "/") + "/ipam/v1/", timeout: 5 * time.Second}
	for _, o := range opts {
		o(s)
	}
	return s
}

// maxOps stays under etcd's default --max-txn-ops (128).
const maxOps = 100

func (s *Store) subnetKey(subnetID string) (string, error) {
	if subnetID == "" || strings.ContainsAny(subnetID, "/\x00") {
		return "", errdefs.Invalid("subnet_id", "%q cannot name a key of the etcd store", subnetID)
	}
	return s.prefix + subnetID + "/", nil
}

// Reserve implements ipam.Store.
func (s *Store) Reserve(subnetID string, addr netip.Addr, owner string) (bool, error) {
	dir, err := s.subnetKey(subnetID)
	if err != nil {
		return false, err
	}
	if !addr.IsValid() || addr.Zone() != "" {
		return false, errdefs.Invalid("ip_address", "%q cannot be reserved: not an address without zone", addr.String())
	}
	key := dir + addr.String()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, owner)).
		Commit()
	if err != nil {
		return false, fmt.Errorf("ipam: reserve %s in subnet %s: %w", addr, subnetID, err)
	}
	return resp.Succeeded, nil
}

// Release implements ipam.Store.
func (s *Store) Release(subnetID string, addrs ...netip.Addr) error {
	dir, err := s.subnetKey(subnetID)
	if err != nil {
		return err
	}
	for len(addrs) > 0 {
		n := min(len(addrs), maxOps)
		ops := make([]clientv3.Op, n)
		for i, a := range addrs[:n] {
			ops[i] = clientv3.OpDelete(dir + a.String())
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		_, err := s.client.Txn(ctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("ipam: release in subnet %s: %w", subnetID, err)
		}
		addrs = addrs[n:]
	}
	return nil
}

// Reservations implements ipam.Store. Keys whose names are not addresses
// are ignored.
func (s *Store) Reservations(subnetID string) (map[netip.Addr]string, error) {
	dir, err := s.subnetKey(subnetID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	resp, err := s.client.Get(ctx, dir, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("ipam: read reservations of subnet %s: %w", subnetID, err)
	}
	r := make(map[netip.Addr]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		a, err := netip.ParseAddr(strings.TrimPrefix(string(kv.Key), dir))
		if err != nil {
			continue
		}
		r[a] = string(kv.Value)
	}
	return r, nil
}
