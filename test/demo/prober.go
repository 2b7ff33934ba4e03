package demo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/suzlab/routeha/test/lab"
)

// Probe is one ICMP echo request and its reply, if any.
type Probe struct {
	Seq  int
	Sent time.Time
	Recv time.Time // zero: no reply (yet)
	TTL  int
}

// Answered reports whether the probe got its reply.
func (p Probe) Answered() bool { return !p.Recv.IsZero() }

// RTT is the round-trip time of an answered probe.
func (p Probe) RTT() time.Duration { return p.Recv.Sub(p.Sent) }

// Prober pings one address from inside a network namespace at a fixed
// interval, with its own raw ICMP socket (like ping -i), and keeps every
// probe with the time it was sent and answered.
type Prober struct {
	dst      netip.Addr
	interval time.Duration
	fd       int
	id       uint16

	mu     sync.Mutex
	probes []Probe
	stop   chan struct{}
	done   sync.WaitGroup
}

// NewProber opens a raw ICMP socket in the namespace ns and starts pinging
// dst every interval.
func NewProber(ns string, dst netip.Addr, interval time.Duration) (*Prober, error) {
	if !dst.Is4() {
		return nil, errors.New("prober: IPv4 only")
	}
	p := &Prober{dst: dst, interval: interval, fd: -1, id: uint16(os.Getpid()), stop: make(chan struct{})}
	err := lab.EnterNamed(ns, func() error {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.IPPROTO_ICMP)
		if err != nil {
			return fmt.Errorf("prober: raw socket: %w", err)
		}
		p.fd = fd
		return nil
	})
	if err != nil {
		return nil, err
	}
	tv := syscall.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := syscall.SetsockoptTimeval(p.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(p.fd)
		return nil, err
	}
	p.done.Add(2)
	go p.send()
	go p.recv()
	return p, nil
}

// Close stops the prober.
func (p *Prober) Close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.done.Wait()
	syscall.Close(p.fd)
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func (p *Prober) send() {
	defer p.done.Done()
	t := time.NewTicker(p.interval)
	defer t.Stop()
	to := &syscall.SockaddrInet4{Addr: p.dst.As4()}
	for seq := 1; ; seq++ {
		pkt := make([]byte, 8+56)
		pkt[0] = 8 // echo request
		binary.BigEndian.PutUint16(pkt[4:], p.id)
		binary.BigEndian.PutUint16(pkt[6:], uint16(seq))
		binary.BigEndian.PutUint16(pkt[2:], checksum(pkt))
		p.mu.Lock()
		p.probes = append(p.probes, Probe{Seq: seq, Sent: time.Now()})
		p.mu.Unlock()
		_ = syscall.Sendto(p.fd, pkt, 0, to) // unreachable: the probe stays unanswered
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

func (p *Prober) recv() {
	defer p.done.Done()
	buf := make([]byte, 1500)
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		n, _, err := syscall.Recvfrom(p.fd, buf, 0)
		now := time.Now()
		if err != nil || n < 20 {
			continue
		}
		ihl := int(buf[0]&0x0f) * 4
		if n < ihl+8 {
			continue
		}
		src, _ := netip.AddrFromSlice(buf[12:16])
		icmp := buf[ihl:n]
		if icmp[0] != 0 || src != p.dst || binary.BigEndian.Uint16(icmp[4:]) != p.id {
			continue
		}
		seq := binary.BigEndian.Uint16(icmp[6:])
		p.mu.Lock()
		for i := len(p.probes) - 1; i >= 0; i-- {
			if uint16(p.probes[i].Seq) == seq {
				if p.probes[i].Recv.IsZero() {
					p.probes[i].Recv, p.probes[i].TTL = now, int(buf[8])
				}
				break
			}
		}
		p.mu.Unlock()
	}
}

// Probes returns a copy of every probe so far.
func (p *Prober) Probes() []Probe {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Probe(nil), p.probes...)
}

// Since returns the probes sent at or after t.
func (p *Prober) Since(t time.Time) []Probe {
	var out []Probe
	for _, pr := range p.Probes() {
		if !pr.Sent.Before(t) {
			out = append(out, pr)
		}
	}
	return out
}

// WaitAnswered waits until a probe sent at or after t is answered and
// returns it.
func (p *Prober) WaitAnswered(ctx context.Context, t time.Time, timeout time.Duration) (Probe, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, pr := range p.Since(t) {
			if pr.Answered() {
				return pr, true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return Probe{}, false
}
