package srsapi

import (
	"net"
	"net/netip"
	"sync"
)

// Connection limits of the hook listener (defaults of LimitListener).
const (
	// DefaultHookMaxConns bounds the open hook connections over all sources.
	DefaultHookMaxConns = 4096
	// DefaultHookMaxConnsPerSource bounds the open hook connections of one
	// source address. SRS opens a new connection for every hook, so this
	// must exceed the number of publishes one SRS starts at once.
	DefaultHookMaxConnsPerSource = 1024
)

// Reasons passed to ListenerLimits.OnRefuse.
const (
	RefusedTotal     = "max_conns"
	RefusedPerSource = "max_conns_per_source"
)

// ListenerLimits configures LimitListener.
type ListenerLimits struct {
	// MaxConns bounds the open connections (default DefaultHookMaxConns).
	MaxConns int
	// MaxConnsPerSource bounds the open connections of one source IP
	// (default DefaultHookMaxConnsPerSource).
	MaxConnsPerSource int
	// OnRefuse, if set, is told of each connection closed at accept, with
	// one of the Refused* reasons.
	OnRefuse func(reason string)
}

// LimitListener wraps the hook listener: a connection over MaxConns or over
// MaxConnsPerSource for its source IP is closed as soon as it is accepted,
// before anything is read from it. (Sources outside hooks.allow still get
// their 403 from the handler, so that a misconfigured SRS is told why.) With the body
// read under HookHandlerConfig.BodyTimeout and the header under the
// server's ReadHeaderTimeout, this bounds what a flood of slow or hostile
// clients can hold: a number of connections, never the hook slots, and the
// memory of MaxConns connections plus the body budget.
func LimitListener(ln net.Listener, lim ListenerLimits) net.Listener {
	if lim.MaxConns <= 0 {
		lim.MaxConns = DefaultHookMaxConns
	}
	if lim.MaxConnsPerSource <= 0 {
		lim.MaxConnsPerSource = DefaultHookMaxConnsPerSource
	}
	return &limitListener{Listener: ln, lim: lim, bySource: map[netip.Addr]int{}}
}

type limitListener struct {
	net.Listener
	lim      ListenerLimits
	mu       sync.Mutex
	total    int
	bySource map[netip.Addr]int
}

// Accept returns the next connection within the limits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := sourceAddr(c.RemoteAddr())
		if reason := l.admit(src); reason != "" {
			// Counted before the close: whoever sees the connection end
			// finds it counted.
			if l.lim.OnRefuse != nil {
				l.lim.OnRefuse(reason)
			}
			_ = c.Close()
			continue
		}
		return &limitConn{Conn: c, release: func() { l.release(src) }}, nil
	}
}

// admit counts a new connection from src, or says why it is refused.
func (l *limitListener) admit(src netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.lim.MaxConns {
		return RefusedTotal
	}
	if l.bySource[src] >= l.lim.MaxConnsPerSource {
		return RefusedPerSource
	}
	l.total++
	l.bySource[src]++
	return ""
}

func (l *limitListener) release(src netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.bySource[src]--; l.bySource[src] <= 0 {
		delete(l.bySource, src)
	}
}

// limitConn releases its place once, on the first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// sourceAddr is the IP of a remote address (the zero Addr when unknown:
// all such connections share one count).
func sourceAddr(a net.Addr) netip.Addr {
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
