//go:build tamago && riscv64

package visionfive2

import (
	"fmt"
	"runtime/goos"
	"sync"
	"time"
	"unsafe"

	"github.com/usbarmory/tamago/riscv64"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/board/dma"
	"github.com/exo-os/exo/board/driver/plic"
	"github.com/exo-os/exo/board/harts"
	"github.com/exo-os/exo/board/mmio"
	"github.com/exo-os/exo/board/starfive/jh7110"
	"github.com/exo-os/exo/riscv"
)

// The TamaGo runtime hooks (tamago goos package): where the kernel's Go
// runtime lives, and how it prints, tells time, draws random bytes and
// exits on this board. The first instruction is package harts' entry,
// which needs the firmware built with the linkcpuinit tag.

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint = KernelStart

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint = KernelSize

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint = 0x100

var (
	bus = mmio.Direct{}
	cpu = &riscv64.CPU{}
	rng *jh7110.RNG
	// rngMu serialises the TRNG between the kernel and the runtime.
	rngMu sync.Mutex
	// early is the state of the generator the runtime's start-up uses
	// for its hash seeds before the TRNG is up (see getRandomData). The
	// capability key never comes from it.
	early board.SplitMix64
)

// printk runs before package initialization too, so it reaches UART0
// through constants only: 32-bit registers four bytes apart.
//
//go:linkname printk runtime/goos.Printk
func printk(c byte) {
	const lsr, thrEmpty = jh7110.UART0Base + 5*4, 1 << 5
	if c == '\n' {
		printk('\r')
	}
	for bus.Read32(lsr)&thrEmpty == 0 {
	}
	bus.Write32(jh7110.UART0Base, uint32(c))
}

// nanotime reads the CLINT's mtime over the bus: the U74 has no time CSR
// (reading it traps, in Machine mode too), which is also why the board
// sets no Machine.ReadTime.
//
//go:linkname nanotime runtime/goos.Nanotime
func nanotime() int64 {
	return int64(bus.Read64(jh7110.CLINTBase+0xbff8) * (1e9 / jh7110.TimebaseHz))
}

//go:linkname initRNG runtime/goos.InitRNG
func initRNG() {}

// getRandomData serves the Go runtime (hash seeds, at start-up) and
// crypto/rand. Once the TRNG is up every byte comes from it, and a TRNG
// failure then is fatal; before that (runtime start-up only) a splitmix64
// generator seeded from mtime fills in (read over the bus: nothing here
// may touch a counter CSR the hart might not implement before the Go
// runtime's trap handler is in place).
//
//go:linkname getRandomData runtime/goos.GetRandomData
func getRandomData(b []byte) {
	if rng != nil {
		if err := readRNG(b); err != nil {
			panic(err)
		}
		return
	}
	if early.State == 0 {
		early.State = bus.Read64(jh7110.CLINTBase+0xbff8) ^ 0x9e3779b97f4a7c15
	}
	early.Read(b)
}

//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	cpu.Init()
	goos.Exit = func(code int32) {
		halt(uint32(code))
	}
	jh7110.UART(bus).Init()
}

func readRNG(b []byte) error {
	rngMu.Lock()
	defer rngMu.Unlock()
	return rng.Read(b)
}

// tryRNG is the kernel's system-call path to the TRNG: it never waits,
// not even for the lock (the runtime's own use holds it only at start-up).
func tryRNG(b []byte) int {
	if !rngMu.TryLock() {
		return 0
	}
	defer rngMu.Unlock()
	return rng.TryRead(b)
}

// halt parks the kernel's hart for good: the board has no power-off
// device the kernel drives.
func halt(status uint32) {
	fmt.Printf("exo: halted with status %d; reset the board to boot again\n", status)
	for {
		riscv.WaitForInterrupt()
	}
}

// Machine brings up the board's devices and returns them for the kernel.
// It fails if the memory map cannot hold the kernel. The network is
// optional: SetupNIC's steps go to the console, and a board on which it
// fails boots with Machine.NIC nil. A TRNG that does not
// come up is reported by Machine.Entropy, which the kernel calls at boot
// and without which it refuses to boot: there is no weaker fallback.
func Machine() (*board.Machine, error) {
	hart := harts.BootHart()
	if hart < 1 || hart >= jh7110.Harts {
		return nil, fmt.Errorf("visionfive2: running on hart %d, not a U74 (1-4)", hart)
	}
	dtb, dtErr := harts.DeviceTree()
	ram, warning := RAMSize(dtb, dtErr)
	if warning != "" {
		fmt.Println(warning)
	}
	layout, err := Layout(ram)
	if err != nil {
		return nil, err
	}
	var parked []int
	for h := 0; h < jh7110.Harts; h++ {
		if harts.StateOf(h) == harts.Parked {
			parked = append(parked, h)
		}
	}
	fmt.Printf("visionfive2: kernel on hart %d; harts %v parked; %d MiB of DRAM\n", hart, parked, ram>>20)
	uart := jh7110.UART(bus)
	m := &board.Machine{
		Name:  Name,
		UART:  uart,
		CLINT: jh7110.CLINT(bus),
		Hart:  hart,
		// No ReadTime: the U74 traps reads of the time CSR.
		WFI:     riscv.WaitForInterrupt,
		ReadMip: riscv.ReadMip,
		Halt:    halt,
		Layout:  layout,
	}
	devices := []board.Device{{Name: "uart0", IRQ: jh7110.UART0IRQ, Handle: uart.Interrupt}}
	// The network: GMAC0 with its PHY (nic.go). Without it (no PHY, no
	// cable, a bring-up step that fails) the board boots all the same,
	// and the console says why; Machine.NIC then stays a nil interface.
	alloc, err := dma.New(layout.DMAStart, layout.DMAEnd, physBytes(layout.DMAStart, int(layout.DMAEnd-layout.DMAStart)))
	if err != nil {
		return nil, fmt.Errorf("visionfive2: %w", err)
	}
	nic, dev, err := SetupNIC(NetConfig{
		Bus: bus, Alloc: alloc, Revision: BoardRevision, MAC: MAC,
		Now:    func() time.Duration { return time.Duration(nanotime()) },
		Sleep:  time.Sleep,
		Printf: func(format string, a ...any) { fmt.Printf(format+"\n", a...) },
	})
	if err != nil {
		fmt.Printf("%v; booting without network\n", err)
	} else {
		m.NIC = nic
		devices = append(devices, dev)
	}
	// Every device interrupt (the console's transmitter, the GMAC's
	// receive and link interrupts) comes to this hart's Machine-mode
	// context, as virtio-net's does on QEMU. The TRNG's (source 30) is
	// not used: the kernel looks at it again at slot boundaries while an
	// environment waits for entropy.
	p := jh7110.PLIC(bus)
	ctx, err := p.Context(hart, plic.Machine)
	if err != nil {
		return nil, fmt.Errorf("visionfive2: %w", err)
	}
	for _, d := range devices {
		if err := p.Route(ctx, int(d.IRQ)); err != nil {
			return nil, fmt.Errorf("visionfive2: %s: %w", d.Name, err)
		}
	}
	m.IRQ = plic.Target{PLIC: p, Ctx: ctx}
	m.Devices = devices
	r := jh7110.TRNG(bus)
	if err := r.Init(); err != nil {
		noRNG := fmt.Errorf("visionfive2: no entropy source: %w", err)
		m.RNG = func([]byte) error { return noRNG }
	} else {
		rng = r
		m.RNG = readRNG
		m.TryRNG = tryRNG
	}
	return m, nil
}

// physBytes returns n bytes of physical memory at pa (Machine mode runs
// untranslated).
func physBytes(pa uint64, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(pa))), n)
}
