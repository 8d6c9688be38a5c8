package ping

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"
)

// resolve finds ip's MAC address: it broadcasts an ARP request up to
// d.tries times, waiting d.wait after each, and takes the sender's address
// from the first ARP packet (reply or request) that ip sends. Frames that
// arrive meanwhile are handled as usual; echo replies among them, left
// over from an earlier run, are dropped.
func (d *Dgram) resolve(ctx context.Context, ip netip.Addr) (MAC, error) {
	d.resolving, d.resolved = ip, false
	defer func() { d.resolving = netip.Addr{} }()
	req := Frame{
		Dst:       Broadcast,
		Src:       d.mac,
		EtherType: EtherTypeARP,
		ARP: ARP{
			Op:        ARPRequest,
			SenderMAC: d.mac,
			SenderIP:  d.prefix.Addr(),
			TargetIP:  ip,
		},
	}
	b, err := req.Marshal()
	if err != nil {
		return MAC{}, err
	}
	for try := 0; try < d.tries; try++ {
		if err := d.write(b); err != nil {
			return MAC{}, err
		}
		deadline := time.Now().Add(d.wait)
		for !d.resolved {
			frame, at, err := d.read(ctx, deadline)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return MAC{}, err
			}
			d.handle(frame, at)
		}
		if d.resolved {
			return d.found, nil
		}
	}
	return MAC{}, fmt.Errorf("ping: dgram: no ARP reply from %v after %d tries (%v each) through QEMU at %v", ip, d.tries, d.wait, d.remote)
}

// handleARP answers a request for Dgram's own address and notes the
// sender's MAC if it is the address being resolved.
func (d *Dgram) handleARP(a *ARP) {
	if d.resolving.IsValid() && a.SenderIP == d.resolving && a.SenderMAC != (MAC{}) && a.SenderMAC[0]&1 == 0 {
		d.found, d.resolved = a.SenderMAC, true
	}
	if a.Op != ARPRequest || a.TargetIP != d.prefix.Addr() {
		return
	}
	reply := Frame{
		Dst:       a.SenderMAC,
		Src:       d.mac,
		EtherType: EtherTypeARP,
		ARP: ARP{
			Op:        ARPReply,
			SenderMAC: d.mac,
			SenderIP:  d.prefix.Addr(),
			TargetMAC: a.SenderMAC,
			TargetIP:  a.SenderIP,
		},
	}
	if b, err := reply.Marshal(); err == nil {
		d.write(b) // best effort, as on a real Ethernet: the asker retries
	}
}
