//go:build tamago

package main

import (
	"encoding/binary"
	"fmt"

	"github.com/exo-os/exo/ash"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

// liar binds the guard it was given (the whole of the TCP table, in the
// lying-filter test's manifest) with a filter that accepts every frame,
// and reports each frame its ring receives: a filter can only narrow what
// its guard covers, so a bystander's UDP and ICMP traffic must never show
// up here, while TCP to any port does.
func liar() int {
	tcp := abi.GuardTables[2]
	yes, err := ash.NewBuilder().Return(1).Build()
	if err != nil {
		fmt.Printf("liar: %v\n", err)
		return 1
	}
	if _, err := libos.Bind(tcp.Lo, tcp.Hi, ash.Encode(yes), nil); err != nil {
		fmt.Printf("liar: %v\n", err)
		return 1
	}
	ring, err := libos.OpenRing(16)
	if err != nil {
		fmt.Printf("liar: %v\n", err)
		return 1
	}
	fmt.Println("liar: bound every TCP port with a filter that accepts everything")
	for {
		sys.NetWait(0)
		for {
			f, _, ok := ring.Next()
			if !ok {
				break
			}
			proto, port := -1, -1
			if len(f) >= 38 && binary.BigEndian.Uint16(f[12:]) == 0x0800 {
				proto, port = int(f[23]), int(binary.BigEndian.Uint16(f[36:]))
			}
			fmt.Printf("liar: received a frame: protocol %d, port %d\n", proto, port)
			ring.Done()
		}
	}
}
