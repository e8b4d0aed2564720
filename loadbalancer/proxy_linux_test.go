package loadbalancer

import (
	"bufio"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/lab"
)

func (w *world) httpLB() {
	w.d.Listeners = []Listener{{ID: "http80", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, ProtocolPort: 80, DefaultPoolID: "web"}}
	w.d.Pools = []Pool{
		{ID: "web", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, LBAlgorithm: RoundRobin},
		{ID: "api", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, LBAlgorithm: LeastConnections},
		{ID: "static", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, LBAlgorithm: SourceIP},
	}
	w.d.Members = []Member{
		{ID: "m1", PoolID: "web", Address: netip.MustParseAddr("100.64.1.21"), ProtocolPort: 8080},
		{ID: "m2", PoolID: "api", Address: netip.MustParseAddr("100.64.1.22"), ProtocolPort: 8080},
		{ID: "m3", PoolID: "static", Address: netip.MustParseAddr("100.64.1.23"), ProtocolPort: 8080},
	}
	w.d.L7Policies = []L7Policy{
		{ID: "p-api", ListenerID: "http80", Action: ActionRedirectToPool, RedirectPoolID: "api", Position: 2,
			Rules: []L7Rule{{Type: RulePath, CompareType: CompareStartsWith, Value: "/api/"}}},
		{ID: "p-static", ListenerID: "http80", Action: ActionRedirectToPool, RedirectPoolID: "static", Position: 3,
			Rules: []L7Rule{{Type: RuleHostName, CompareType: CompareEqualTo, Value: "static.example"}}},
		{ID: "p-block", ListenerID: "http80", Action: ActionReject, Position: 1,
			Rules: []L7Rule{{Type: RuleHeader, CompareType: CompareEqualTo, Key: "X-Block", Value: "yes"}}},
		{ID: "p-old", ListenerID: "http80", Action: ActionRedirectToURL, RedirectURL: "http://new.example/", Position: 4,
			Rules: []L7Rule{{Type: RulePath, CompareType: CompareEqualTo, Value: "/old"},
				{Type: RuleCookie, CompareType: CompareRegex, Key: "beta", Value: "^(1|yes)$", Invert: true}}},
	}
}

// curl runs curl in the client namespace and returns "code body".
func (w *world) curl(args ...string) string {
	w.t.Helper()
	argv := append([]string{"curl", "-s", "--max-time", "5", "-o", "-", "-w", " %{http_code}"}, args...)
	out, err := w.l.Run(w.client, 10*time.Second, argv...)
	require.NoError(w.t, err, out)
	return strings.TrimSpace(out)
}

// TestL7PoliciesRouteByPathHostHeaderCookie: curl against the in-process
// proxy: policies in position order route by path and host to other pools,
// reject by header, redirect unless a cookie says otherwise; the members
// see X-Forwarded-For and X-Forwarded-Proto.
func TestL7PoliciesRouteByPathHostHeaderCookie(t *testing.T) {
	lab.RequireCmd(t, "curl")
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.member("m3", "100.64.1.23")
	w.httpLB()
	w.apply()
	w.requireIdle()
	url := "http://" + vip + "/"
	require.Equal(t, "m1 xff=100.64.1.50 proto=http 200", w.curl(url+"index.html"))
	require.Equal(t, "m2 xff=100.64.1.50 proto=http 200", w.curl(url+"api/v1"))
	require.Equal(t, "m3 xff=100.64.1.50 proto=http 200", w.curl("-H", "Host: static.example", url))
	require.Contains(t, w.curl("-H", "X-Block: yes", url+"api/v1"), "403")
	require.Contains(t, w.curl(url+"old"), "302")
	require.Equal(t, "m1 xff=100.64.1.50 proto=http 200", w.curl("-b", "beta=yes", url+"old"))

	// A policy change swaps the proxy's state without rebinding.
	w.d.L7Policies = w.d.L7Policies[:1]
	rep := w.apply()
	require.Zero(t, rep.Mutations(), "the proxy's configuration is not a kernel mutation: %v", rep.Changes)
	require.Equal(t, "m1 xff=100.64.1.50 proto=http 200", w.curl("-H", "Host: static.example", url))
	require.Equal(t, "m2 xff=100.64.1.50 proto=http 200", w.curl(url+"api/v1"))
}

// TestHTTPCookiePersistence: the proxy inserts a cookie naming the member
// and honours it afterwards.
func TestHTTPCookiePersistence(t *testing.T) {
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.httpLB()
	w.d.L7Policies = nil
	w.d.Pools[0].SessionPersistence = &Persistence{Type: PersistHTTPCookie}
	w.d.Members[1].PoolID = "web"
	w.apply()
	client := w.httpClient()
	resp, err := client.Get("http://" + vip + "/")
	require.NoError(t, err)
	_ = resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "SRV" {
			cookie = c
		}
	}
	require.NotNil(t, cookie, "no persistence cookie")
	for range 10 {
		req, _ := http.NewRequest("GET", "http://"+vip+"/", nil)
		req.AddCookie(cookie)
		resp, err := client.Do(req)
		require.NoError(t, err)
		body := readAll(t, resp)
		require.True(t, strings.HasPrefix(body, cookie.Value+" "), "cookie %s but answered by %q", cookie.Value, body)
	}
	// Without the cookie, round robin alternates.
	seen := map[string]bool{}
	for range 4 {
		resp, err := client.Get("http://" + vip + "/")
		require.NoError(t, err)
		seen[strings.Fields(readAll(t, resp))[0]] = true
	}
	require.Len(t, seen, 2)
}

// TestConnectionLimitQueuesClients: with connection_limit 1, a second
// client waits until the first leaves, as with haproxy's maxconn.
func TestConnectionLimitQueuesClients(t *testing.T) {
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.httpLB()
	w.d.L7Policies = nil
	w.d.Listeners[0].ConnectionLimit = ptr(1)
	w.apply()
	var first net.Conn
	require.NoError(t, w.client.Do(func() (err error) { first, err = net.Dial("tcp", vip+":80"); return err }))
	defer first.Close()
	// Make sure the proxy accepted the first connection.
	_, err := first.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	line, err := bufio.NewReader(first).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, "200")

	got := make(chan string, 1)
	go func() {
		resp, err := w.httpClient().Get("http://" + vip + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		got <- readAll(t, resp)
	}()
	select {
	case s := <-got:
		t.Fatalf("second client served past the limit: %q", s)
	case <-time.After(500 * time.Millisecond):
	}
	_ = first.Close()
	require.True(t, strings.HasPrefix(<-got, "m1 "))
}

// TestLeastConnectionsTCPThroughProxy: a TCP listener whose pool balances
// by least connections is served by the proxy, not the kernel.
func TestLeastConnectionsTCPThroughProxy(t *testing.T) {
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.tcpPool(LeastConnections, 1, 1)
	rep := w.apply()
	require.Zero(t, rep.Created["nft-chain"]-2, "a least-connections listener must not get a kernel chain: %v", rep.Changes)
	w.requireIdle()
	counts := w.count(40, 80)
	require.Equal(t, 40, counts["m1"]+counts["m2"], "%v", counts)
	require.NotZero(t, counts["m1"])
	require.NotZero(t, counts["m2"])
}

func (w *world) httpClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: (&nsDialer{h: w.client}).DialContext, DisableKeepAlives: true,
	}}
}

func readAll(t *testing.T, resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	_, err := bufio.NewReader(resp.Body).WriteTo(&b)
	require.NoError(t, err)
	return b.String()
}
