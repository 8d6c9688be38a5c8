package ipc

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/sys"
)

// In lrpc_riscv64.s.
func lrpcEntry()
func lrpcEntryPC() uintptr

// The server's state: the transfer frame the kernel saves the
// interrupted pc and a0..a7 in, and the counter its procedure increments.
// The entry code reaches them by address, with no Go code and no stack.
var (
	lrpcFrame   abi.PCTFrame
	lrpcCounter uint64
)

// Serve registers this environment's lrpc server: from now on a
// synchronous transfer to it (Client.Call) runs the server's procedure on
// the caller's time: it increments the server's counter and returns, in
// the caller's registers, a0+1, the counter (a2), a3+a4 (a3), a5 (a4) and
// the caller's env id (a5). The Go program in the server never notices:
// the entry code touches only a0..a7, which the kernel restores from the
// frame when it returns.
func Serve() error {
	if _, err := sys.PCTEntry(lrpcEntryPC(), uintptr(unsafePointer(&lrpcFrame))); err != nil {
		return err
	}
	return nil
}

// Served returns the server's counter: how many calls it has served.
func Served() uint64 { return atomicLoad(&lrpcCounter) }

// Client calls an lrpc server.
type Client struct {
	server caps.Cap
	regs   [6]uint64
}

// NewClient returns a client of the server that env capability c (with
// the send right) names.
func NewClient(c caps.Cap) *Client { return &Client{server: c} }

// Reply is what one call returns.
type Reply struct {
	Result, Counter, Sum, Echo, Caller uint64
}

// Call calls the server with x and y, z (summed) and w (echoed).
func (c *Client) Call(x, y, z, w uint64) (Reply, error) {
	c.regs = [6]uint64{x, 0, 0, y, z, w}
	if err := sys.PCTCall(&c.server, &c.regs); err != nil {
		return Reply{}, err
	}
	return Reply{Result: c.regs[0], Counter: c.regs[2], Sum: c.regs[3], Echo: c.regs[4], Caller: c.regs[5]}, nil
}
