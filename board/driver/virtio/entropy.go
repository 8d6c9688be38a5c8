package virtio

import (
	"errors"
	"fmt"
)

// entropyBuf is how many bytes one request asks the device for.
const entropyBuf = 64

// maxPolls bounds Read's wait for the device to answer a request.
const maxPolls = 1 << 24

// Entropy is a virtio entropy device (§5.4): the driver offers a writable
// buffer, the device fills it with random bytes. One request is with the
// device at a time; TryRead never waits for it, Read (at boot) does.
type Entropy struct {
	dev     *Device
	q       *Queue
	buf     []byte
	bufPA   uint64
	pending bool   // a request is with the device
	have    []byte // delivered bytes not yet taken: the tail of buf
}

// EntropyBytes is the driver memory NewEntropy needs.
const EntropyBytes = 256

// NewEntropy sets up the entropy device dev with driver memory mem at
// physical address pa (16-byte aligned, EntropyBytes long).
func NewEntropy(dev *Device, mem []byte, pa uint64) (*Entropy, error) {
	if id := dev.ID(); id != TypeEntropy {
		return nil, fmt.Errorf("virtio: device at %#x is type %d, not an entropy source", dev.Base, id)
	}
	if len(mem) < EntropyBytes {
		return nil, fmt.Errorf("virtio: entropy device needs %d bytes of driver memory", EntropyBytes)
	}
	if _, err := dev.Init(0); err != nil {
		return nil, err
	}
	q, err := NewQueue(mem, pa, 1)
	if err != nil {
		return nil, err
	}
	off := align(QueueBytes(1), 16)
	e := &Entropy{dev: dev, q: q, buf: mem[off : off+entropyBuf], bufPA: pa + uint64(off)}
	if err := dev.SetupQueue(0, q); err != nil {
		return nil, err
	}
	dev.Ready()
	return e, nil
}

// request hands the buffer to the device.
func (e *Entropy) request() {
	e.q.SetDesc(0, e.bufPA, uint32(len(e.buf)), DescWrite, 0)
	e.q.Offer(0)
	e.dev.Notify(0)
	e.pending = true
}

// collect takes a finished request's bytes, if the device has finished.
// A device claiming more bytes than the buffer holds delivers none.
func (e *Entropy) collect() {
	if !e.pending {
		return
	}
	if _, n, ok := e.q.Used(); ok {
		e.pending = false
		if n <= uint32(len(e.buf)) {
			e.have = e.buf[:n]
		}
	}
}

// TryRead copies up to len(b) bytes the device has delivered into b and
// returns how many, without waiting; when none are left it asks the device
// for more (its interrupt says when they are there). Each byte is handed
// out once and wiped.
func (e *Entropy) TryRead(b []byte) int {
	e.collect()
	n := copy(b, e.have)
	clear(e.have[:n])
	e.have = e.have[n:]
	if len(e.have) == 0 && !e.pending {
		e.request()
	}
	return n
}

// Interrupt acknowledges the device's interrupt and takes the bytes of
// the request it finished.
func (e *Entropy) Interrupt() {
	e.dev.AckInterrupt()
	e.collect()
}

// Read fills b with random bytes, waiting for the device: at boot (the
// capability key) and for the kernel's own Go runtime. It gives up after
// maxPolls looks at one request.
func (e *Entropy) Read(b []byte) error {
	for polls := 0; len(b) > 0; {
		if n := e.TryRead(b); n > 0 {
			b, polls = b[n:], 0
			continue
		}
		if polls++; polls == maxPolls {
			return errors.New("virtio: the entropy device did not answer")
		}
	}
	return nil
}

// ErrNoDevice is wrapped by Probe's error when no slot holds a device of
// the type asked for (as against a legacy one, ErrLegacy).
var ErrNoDevice = errors.New("virtio: no such device")

// Probe returns the first device of type id among the virtio-mmio slots at
// bases, or an error saying what was found instead.
func Probe(bus interface {
	Read32(uintptr) uint32
}, bases []uintptr, id uint32) (uintptr, error) {
	legacy := false
	for _, b := range bases {
		if bus.Read32(b+regMagic) != Magic || bus.Read32(b+regDeviceID) != id {
			continue
		}
		if bus.Read32(b+regVersion) == 1 {
			legacy = true
			continue
		}
		return b, nil
	}
	if legacy {
		return 0, ErrLegacy
	}
	return 0, fmt.Errorf("%w: none of type %d in %d slots", ErrNoDevice, id, len(bases))
}
