package virtio

import (
	"errors"
	"fmt"
)

// entropyBuf is how many bytes one request asks the device for.
const entropyBuf = 64

// maxPolls bounds the wait for the device to answer a request.
const maxPolls = 1 << 24

// Entropy is a virtio entropy device (§5.4): the driver offers a writable
// buffer, the device fills it with random bytes.
type Entropy struct {
	dev   *Device
	q     *Queue
	buf   []byte
	bufPA uint64
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

// Read fills b with random bytes.
func (e *Entropy) Read(b []byte) error {
	for len(b) > 0 {
		e.q.SetDesc(0, e.bufPA, uint32(len(e.buf)), DescWrite, 0)
		e.q.Offer(0)
		e.dev.Notify(0)
		var n uint32
		for i := 0; ; i++ {
			var ok bool
			if _, n, ok = e.q.Used(); ok {
				break
			}
			if i == maxPolls {
				return errors.New("virtio: the entropy device did not answer")
			}
		}
		if n > uint32(len(e.buf)) {
			return fmt.Errorf("virtio: the entropy device claims %d bytes in a %d-byte buffer", n, len(e.buf))
		}
		b = b[copy(b, e.buf[:n]):]
	}
	return nil
}

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
	return 0, fmt.Errorf("virtio: no device of type %d in %d slots", id, len(bases))
}
