//go:build tamago

package libos

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/netring"
	"github.com/exo-os/exo/libos/sys"
)

// NetConfig returns the machine's network configuration: the NIC's MAC
// and the IPv4 address the manifest gave it.
func NetConfig() abi.Net { return Startup().Net }

// Guard returns the environment's port capability covering name (a
// caps.PortName), as the manifest's net lines gave it.
func Guard(name uint64) (caps.Cap, bool) { return findCap(CapList(), caps.KindPort, name) }

// Bind binds guard [lo, hi] (abi.NetBind) under the environment's port
// capability for it, with an optional filter and handler program, each
// encoded as ash.Encode encodes instructions (8 bytes each), and returns
// the binding's handle. (The programs come encoded so that environments
// that bind none do not link the bytecode package.)
func Bind(lo, hi uint64, filter, handler []byte) (uint32, error) {
	return BindMessage(lo, hi, filter, handler, nil)
}

// BindMessage is Bind with a message buffer for the handler: msg, from
// Contiguous, whose pages the handler may write (message vectoring).
func BindMessage(lo, hi uint64, filter, handler, msg []byte) (uint32, error) {
	g, ok := Guard(lo)
	if !ok {
		return 0, fmt.Errorf("libos: no guard capability covers %#x", lo)
	}
	if len(filter)%8 != 0 || len(handler)%8 != 0 {
		return 0, fmt.Errorf("libos: programs are 8-byte instructions; got %d and %d bytes", len(filter), len(handler))
	}
	r := abi.NetBind{Guard: g, Lo: lo, Hi: hi}
	if len(filter) > 0 {
		r.Filter, r.FilterLen = uint64(uintptr(unsafe.Pointer(&filter[0]))), uint64(len(filter)/8)
	}
	if len(handler) > 0 {
		r.ASH, r.ASHLen = uint64(uintptr(unsafe.Pointer(&handler[0]))), uint64(len(handler)/8)
	}
	if len(msg) > 0 {
		va := uintptr(unsafe.Pointer(&msg[0]))
		c, ok := RootPageCap(va)
		if !ok {
			return 0, errors.New("libos: no page capability for the message buffer")
		}
		r.MsgCap, r.Msg, r.MsgLen = c, uint64(va), uint64(len(msg))
	}
	id, err := sys.NetBind(&r)
	if err != nil {
		return 0, fmt.Errorf("libos: binding guard [%#x, %#x]: %w", lo, hi, err)
	}
	return id, nil
}

// Unbind undoes binding id, which this environment made.
func Unbind(id uint32) error {
	if err := sys.NetUnbind(id); err != nil {
		return fmt.Errorf("libos: unbinding %d: %w", id, err)
	}
	return nil
}

// kept holds the memory Contiguous handed out, for the kernel writes
// into it whatever the garbage collector thinks.
var kept [][]byte

// Contiguous returns size bytes of the environment's memory, zeroed, page
// aligned and inside one physically contiguous run (what the kernel asks
// of receive rings and message buffers), kept for the environment's
// lifetime.
func Contiguous(size int) ([]byte, error) {
	for try := 0; try < 4; try++ {
		buf := make([]byte, size+abi.PageSize)
		off := (abi.PageSize - int(uintptr(unsafe.Pointer(&buf[0])))%abi.PageSize) % abi.PageSize
		mem := buf[off : off+size]
		va := uintptr(unsafe.Pointer(&mem[0]))
		first, ok1 := PhysPage(va)
		last, ok2 := PhysPage(va + uintptr(size) - 1)
		if !ok1 || !ok2 || last-first != uint64(size-1)/abi.PageSize {
			continue // across two runs: try another allocation
		}
		kept = append(kept, buf)
		return mem, nil
	}
	return nil, fmt.Errorf("libos: no physically contiguous run of %d bytes", size)
}

// ring is the environment's receive ring, once opened: kept here so the
// garbage collector never frees the memory the kernel writes.
var ring *netring.Ring

// OpenRing allocates a receive ring of slots slots in the environment's
// memory, page aligned and inside one physically contiguous run, and
// registers it. The idle hook then waits for frames as well as timers.
func OpenRing(slots int) (*netring.Ring, error) {
	if ring != nil {
		return nil, errors.New("libos: the receive ring is already open")
	}
	mem, err := Contiguous(int(abi.NetRingBytes(slots)))
	if err != nil {
		return nil, fmt.Errorf("libos: the receive ring: %w", err)
	}
	r, err := netring.New(mem, slots)
	if err != nil {
		return nil, err
	}
	c, ok := RootPageCap(uintptr(unsafe.Pointer(&mem[0])))
	if !ok {
		return nil, errors.New("libos: no page capability for the ring's memory")
	}
	if err := sys.NetRing(mem, &c); err != nil {
		return nil, fmt.Errorf("libos: registering the receive ring: %w", err)
	}
	ring = r
	return r, nil
}

// Guards returns the ranges of the environment's guards: the port
// capabilities the manifest's net lines gave it, [lo, hi] each.
func Guards() [][2]uint64 {
	l := (*abi.CapList)(unsafe.Add(nil, abi.CapsVA))
	n := Startup().Net.Guards
	if n > l.Roots {
		n = l.Roots
	}
	var out [][2]uint64
	for i := l.Roots - n; i < l.Roots; i++ {
		c := caps.Cap(l.Caps[i])
		if c.Kind() != caps.KindPort {
			continue
		}
		if _, lo, hi, ok := c.Effective(); ok {
			out = append(out, [2]uint64{lo, hi})
		}
	}
	return out
}

// frameWaiter is the goroutine sleeping in WaitFrames (its runtime g), or
// zero.
var frameWaiter atomic.Uintptr

// WaitFrames puts the calling goroutine (an environment's receive loop)
// to sleep until a frame waits in the receive ring, d passes, or
// WakeFrameWaiter is called, whichever is first; other goroutines run
// meanwhile. When every goroutine sleeps, the idle hook waits in the
// kernel (net_wait) and, when a frame arrives, ends this sleep early.
func WaitFrames(d time.Duration) {
	if ring == nil || ring.Pending() > 0 || d <= 0 {
		return
	}
	gp, _ := runtime.GetG()
	frameWaiter.Store(uintptr(gp))
	time.Sleep(d)
	frameWaiter.Store(0)
}

// WakeFrameWaiter ends WaitFrames' sleep now, if a goroutine sleeps in
// it: a socket call that armed an earlier timer calls it.
func WakeFrameWaiter() {
	if gp := frameWaiter.Load(); gp != 0 {
		runtime.Wake(uint(gp))
	}
}
