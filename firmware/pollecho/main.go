//go:build tamago && riscv64

// Command pollecho is the network benchmark's floor: a bare-metal program
// for QEMU's virt machine, no kernel and no environments, that polls the
// virtio-net device (Exo's own driver) and answers ARP and ICMP echo for
// 198.18.0.2 with the least work it can: the least a ping round trip can
// cost on this QEMU, which the ASH path's is compared with in the same
// run (make bench-net, docs/NETWORK.md).
package main

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/exo-os/exo/board/qemu/virt"
)

var addr = [4]byte{198, 18, 0, 2}

func main() {
	m, err := virt.Machine()
	if err != nil || m.NIC == nil {
		fmt.Printf("pollecho: no network device (%v)\n", err)
		os.Exit(1)
	}
	nic := m.NIC
	mac := nic.MAC()
	fmt.Printf("pollecho: %d.%d.%d.%d (%x) answers ARP and ICMP echo by polling\n", addr[0], addr[1], addr[2], addr[3], mac)
	out := make([]byte, 1514)
	for {
		f := nic.Receive()
		if f == nil {
			continue
		}
		n := answer(f, out, mac)
		nic.Release()
		if n > 0 {
			nic.Transmit(out[:n])
		}
	}
}

// answer builds in out the reply to an ARP request for addr or an ICMP
// echo request to it, and returns its length (0: none).
func answer(f, out []byte, mac [6]byte) int {
	be := binary.BigEndian
	if len(f) < 42 {
		return 0
	}
	switch be.Uint16(f[12:]) {
	case 0x0806:
		if be.Uint16(f[20:]) != 1 || [4]byte(f[38:42]) != addr {
			return 0
		}
		copy(out, f[:42])
		copy(out[0:6], f[22:28])
		copy(out[6:12], mac[:])
		be.PutUint16(out[20:], 2)
		copy(out[22:28], mac[:])
		copy(out[28:32], addr[:])
		copy(out[32:38], f[22:28])
		copy(out[38:42], f[28:32])
		clear(out[42:60])
		return 60
	case 0x0800:
		total := int(be.Uint16(f[16:]))
		if f[14] != 0x45 || f[23] != 1 || f[34] != 8 || [4]byte(f[30:34]) != addr || total < 28 || 14+total > len(f) {
			return 0
		}
		n := 14 + total
		copy(out, f[:n])
		copy(out[0:6], f[6:12])
		copy(out[6:12], mac[:])
		copy(out[26:30], f[30:34])
		copy(out[30:34], f[26:30])
		out[34] = 0
		// RFC 1624: the checksum for the type word 0x0800 -> 0x0000.
		sum := uint32(^be.Uint16(f[36:])) + uint32(^uint16(0x0800)) + 0
		for sum>>16 != 0 {
			sum = sum&0xffff + sum>>16
		}
		be.PutUint16(out[36:], ^uint16(sum))
		return n
	}
	return 0
}
