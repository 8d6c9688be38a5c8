//go:build tamago

package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/ipc"
	"github.com/exo-os/exo/libos/sys"
)

// The ExOS IPC table (libos/ipc; tools/qemu/pct_test.go), as the roles
//
//	ipc N [bench]  (spawn=yes, spare=) starts an "ipcsrv" child with
//	               read-write capabilities for three of its pages (two
//	               rings and a page of shared words), then makes N round
//	               trips of each column: pipe (bytes through the rings),
//	               pipe' (words through the rings), shm (a shared word),
//	               lrpc (a synchronous protected control transfer into the
//	               child's entry point), checking every reply, and one
//	               asynchronous transfer; "bench" prints the "bench:" lines
//	               with the ratio to the procedure call
//	ipcsrv         the child: maps the pages, registers its lrpc entry
//	               point, echoes each column until its end mark, exits
//	               when told, reporting how many calls it served
//
// The role is chosen here, before main, so that main.go stays as it was.
func init() {
	f := strings.Fields(libos.Arg())
	if len(f) == 0 {
		return
	}
	switch f[0] {
	case "ipc":
		n := 0
		if len(f) > 1 {
			n, _ = strconv.Atoi(f[1])
		}
		os.Exit(ipcClient(n, len(f) > 2 && f[2] == "bench"))
	case "ipcsrv":
		os.Exit(ipcServer())
	}
}

// The shared-words page: the client's word, the server's word, the
// server's "ready" flag and the client's "done" flag.
const (
	wordC2S = 0
	wordS2C = 8
	wordRdy = 16
	wordEnd = 24
	// endMark ends a column.
	endMark = ^uint64(0)
)

// ipcPages are the three shared pages as one side maps them.
type ipcPages struct {
	ab, ba   ipc.Pipe // client to server, server to client
	shm      []byte
	c2s, s2c ipc.Word
}

func attach(ab, ba, shm []byte) (*ipcPages, error) {
	r1, err := ipc.NewRing(ab)
	if err != nil {
		return nil, err
	}
	r2, err := ipc.NewRing(ba)
	if err != nil {
		return nil, err
	}
	p := &ipcPages{ab: ipc.Pipe{Ring: r1, Wait: sys.Yield}, ba: ipc.Pipe{Ring: r2, Wait: sys.Yield}, shm: shm}
	if p.c2s, err = ipc.NewWord(shm[wordC2S:], sys.Yield); err != nil {
		return nil, err
	}
	if p.s2c, err = ipc.NewWord(shm[wordS2C:], sys.Yield); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *ipcPages) flag(off int) ipc.Word {
	w, _ := ipc.NewWord(p.shm[off:], sys.Yield)
	return w
}

func ipcClient(rounds int, bench bool) int {
	if rounds < 1 {
		fmt.Println("ipc: needs a round count")
		return 2
	}
	va := [3]uintptr{page(), page(), page()}
	var pass []caps.Cap
	for _, v := range va {
		clear(bytesAt(v, abi.PageSize))
		ppn, _ := libos.PhysPage(v)
		root, _ := libos.RootPageCap(v)
		pass = append(pass, must(caps.Derive(root, caps.PageRead|caps.PageWrite, ppn, ppn)))
	}
	p, err := attach(bytesAt(va[0], abi.PageSize), bytesAt(va[1], abi.PageSize), bytesAt(va[2], abi.PageSize))
	if err != nil {
		fmt.Println("ipc:", err)
		return 1
	}
	slot := freeSlot()
	if slot < 0 {
		fmt.Println("ipc: no free slot")
		return 1
	}
	id, srv, err := libos.Spawn(libos.Child{Image: "testenv", Mem: 16 << 20, Slot: uint32(slot), Arg: "ipcsrv", Pass: pass})
	if err != nil {
		fmt.Println("ipc: spawn:", err)
		return 1
	}
	ready := p.flag(wordRdy)
	if !waitFor(20, func() bool { return ready.Load() == 1 }) {
		fmt.Println("ipc: the server never got ready")
		return 1
	}
	fmt.Printf("ipc: server env %d ready in slot %d\n", id, slot)

	// Each column: one round trip sends v and checks v+1 comes back.
	wrong := 0
	v := uint64(0)
	var msg [8]byte
	pipe := func() {
		v++
		binary.LittleEndian.PutUint64(msg[:], v)
		p.ab.WriteAll(msg[:])
		p.ba.ReadFull(msg[:])
		if binary.LittleEndian.Uint64(msg[:]) != v+1 {
			wrong++
		}
	}
	pipe2 := func() {
		v++
		p.ab.Send(v)
		if p.ba.Receive() != v+1 {
			wrong++
		}
	}
	lastReply := uint64(0) // the server's word starts at 0
	shm := func() {
		v++
		p.c2s.Store(v)
		lastReply = p.s2c.AwaitNot(lastReply)
		if lastReply != v+1 {
			wrong++
		}
	}
	cl := ipc.NewClient(srv)
	calls := uint64(0)
	lrpc := func() {
		r, err := cl.Call(v, 3, 4, v^0x5a)
		calls++
		if err != nil || r.Result != v+1 || r.Counter != calls || r.Sum != 7 || r.Echo != v^0x5a || r.Caller != uint64(libos.EnvID()) {
			wrong++
		}
		v++
	}
	end := func() {
		p.ab.Send(endMark)
		if p.ba.Receive() != endMark {
			wrong++
		}
	}
	run := func(f func()) uint64 {
		if bench {
			return measureN(f, rounds)
		}
		for range rounds {
			f()
		}
		return 0
	}
	call := measure(sys.Nop)
	times := [4]uint64{}
	names := [4]string{"pipe ", "pipe'", "shm  ", "lrpc "}
	for i, f := range []func(){pipe, pipe2, shm, lrpc} {
		before := wrong
		times[i] = run(f)
		switch i {
		case 0, 1:
			end()
		case 2:
			p.c2s.Store(endMark)
			if p.s2c.AwaitNot(lastReply) != endMark {
				wrong++
			}
		}
		fmt.Printf("ipc: %s: round trips done, %d wrong\n", strings.TrimSpace(names[i]), wrong-before)
	}
	// One asynchronous transfer: the server's procedure runs once more,
	// on the rest of this slot.
	a := [6]uint64{1}
	if err := sys.PCTAsync(&srv, &a); err != nil {
		fmt.Println("ipc: async transfer:", err)
		wrong++
	}
	calls++
	p.flag(wordEnd).Store(1)
	if !waitFor(20, func() bool {
		st, err := sys.EnvControl(abi.EnvStatus, &srv)
		return err == nil && st == abi.EnvStateZombie
	}) {
		fmt.Println("ipc: the server never finished")
		return 1
	}
	status, _ := sys.EnvControl(abi.EnvReap, &srv)
	fmt.Printf("ipc: %d lrpc calls made (one asynchronous), %d wrong replies, server status %d\n", calls, wrong, status)
	if bench {
		fmt.Printf("bench: ipc procedure call       %s\n", ns(call))
		for i, t := range times {
			fmt.Printf("bench: ipc %s round trip     %s  %s the call\n", names[i], ns(t), ratio(t, call))
		}
	}
	if wrong != 0 || status != 0 {
		return 1
	}
	return 0
}

func ipcServer() int {
	passed := libos.Passed()
	if len(passed) != 3 {
		fmt.Printf("ipcsrv: %d capabilities passed, want 3\n", len(passed))
		return 1
	}
	for i, c := range passed {
		_, ppn, _, _ := c.Effective()
		if err := sys.Map(shareVA+uint64(i)*abi.PageSize, ppn, abi.MapRead|abi.MapWrite, &c); err != nil {
			fmt.Println("ipcsrv: map:", err)
			return 1
		}
	}
	p, err := attach(bytesAt(shareVA, abi.PageSize), bytesAt(shareVA+abi.PageSize, abi.PageSize), bytesAt(shareVA+2*abi.PageSize, abi.PageSize))
	if err != nil {
		fmt.Println("ipcsrv:", err)
		return 1
	}
	if err := ipc.Serve(); err != nil {
		fmt.Println("ipcsrv: register the entry point:", err)
		return 1
	}
	p.flag(wordRdy).Store(1)
	// pipe: bytes, 8 at a time, until the end mark.
	var msg [8]byte
	for {
		p.ab.ReadFull(msg[:])
		v := binary.LittleEndian.Uint64(msg[:])
		if v != endMark {
			v++
		}
		binary.LittleEndian.PutUint64(msg[:], v)
		p.ba.WriteAll(msg[:])
		if v == endMark {
			break
		}
	}
	// pipe': words.
	for {
		v := p.ab.Receive()
		if v == endMark {
			p.ba.Send(endMark)
			break
		}
		p.ba.Send(v + 1)
	}
	// shm: a word each way.
	for last := uint64(0); ; {
		v := p.c2s.AwaitNot(last)
		last = v
		if v == endMark {
			p.s2c.Store(endMark)
			break
		}
		p.s2c.Store(v + 1)
	}
	// lrpc runs in the entry point, on the client's time; wait to be told.
	done := p.flag(wordEnd)
	for done.Load() == 0 {
		sys.Yield()
	}
	fmt.Printf("ipcsrv: served %d lrpc calls\n", ipc.Served())
	return 0
}
