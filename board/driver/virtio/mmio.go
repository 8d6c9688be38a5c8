// Package virtio drives virtio devices over the virtio-mmio transport
// (VIRTIO 1.2, §4.2.2, "modern" register layout, version 2) with split
// virtqueues (§2.7). It takes its register base and its queue memory as
// data, allocates nothing after setup, and is tested on the host against a
// device model.
//
// TamaGo v1.26.0 ships a virtio package (kvm/virtio), but it imports its
// amd64 and Intel PCI packages unconditionally and so does not build for
// riscv64; this package is Exo's own.
package virtio

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/board/mmio"
)

// Register offsets (§4.2.2).
const (
	regMagic          = 0x000
	regVersion        = 0x004
	regDeviceID       = 0x008
	regDeviceFeatures = 0x010
	regDeviceFeatSel  = 0x014
	regDriverFeatures = 0x020
	regDriverFeatSel  = 0x024
	regQueueSel       = 0x030
	regQueueNumMax    = 0x034
	regQueueNum       = 0x038
	regQueueReady     = 0x044
	regQueueNotify    = 0x050
	regInterruptStat  = 0x060
	regInterruptACK   = 0x064
	regStatus         = 0x070
	regQueueDescLo    = 0x080
	regQueueDescHi    = 0x084
	regQueueDriverLo  = 0x090
	regQueueDriverHi  = 0x094
	regQueueDeviceLo  = 0x0a0
	regQueueDeviceHi  = 0x0a4
	regConfigGen      = 0x0fc
	regConfig         = 0x100
)

// Device status bits (§2.1).
const (
	statusAcknowledge = 1
	statusDriver      = 2
	statusDriverOK    = 4
	statusFeaturesOK  = 8
	statusFailed      = 128
)

// Magic is the value of the magic register ("virt").
const Magic = 0x74726976

// FeatureVersion1 (VIRTIO_F_VERSION_1, bit 32) marks a device that follows
// the 1.x specification; a modern driver must accept it.
const FeatureVersion1 = 1 << 32

// Device types (§5).
const (
	TypeNet     = 1
	TypeEntropy = 4
)

// ErrLegacy is returned for a version 1 (legacy) virtio-mmio device.
var ErrLegacy = errors.New("virtio: legacy (version 1) virtio-mmio device; QEMU needs -global virtio-mmio.force-legacy=false")

// Device is one virtio-mmio device.
type Device struct {
	Bus  mmio.Bus
	Base uintptr
}

// ID returns the device type, or 0 if nothing is at Base.
func (d *Device) ID() uint32 {
	if d.Bus.Read32(d.Base+regMagic) != Magic {
		return 0
	}
	return d.Bus.Read32(d.Base + regDeviceID)
}

func (d *Device) status() uint32 { return d.Bus.Read32(d.Base + regStatus) }

func (d *Device) setStatus(bits uint32) {
	d.Bus.Write32(d.Base+regStatus, d.status()|bits)
}

// Init resets the device and negotiates features: the device's features
// intersected with want, plus VIRTIO_F_VERSION_1, which the device must
// offer. It returns the negotiated set.
func (d *Device) Init(want uint64) (uint64, error) {
	if d.Bus.Read32(d.Base+regMagic) != Magic {
		return 0, fmt.Errorf("virtio: no device at %#x", d.Base)
	}
	if v := d.Bus.Read32(d.Base + regVersion); v != 2 {
		if v == 1 {
			return 0, ErrLegacy
		}
		return 0, fmt.Errorf("virtio: device at %#x has unknown version %d", d.Base, v)
	}
	d.Bus.Write32(d.Base+regStatus, 0) // reset
	d.setStatus(statusAcknowledge)
	d.setStatus(statusDriver)
	var dev uint64
	for sel := uint32(0); sel < 2; sel++ {
		d.Bus.Write32(d.Base+regDeviceFeatSel, sel)
		dev |= uint64(d.Bus.Read32(d.Base+regDeviceFeatures)) << (32 * sel)
	}
	if dev&FeatureVersion1 == 0 {
		d.setStatus(statusFailed)
		return 0, fmt.Errorf("virtio: device at %#x does not offer VIRTIO_F_VERSION_1", d.Base)
	}
	got := dev&want | FeatureVersion1
	for sel := uint32(0); sel < 2; sel++ {
		d.Bus.Write32(d.Base+regDriverFeatSel, sel)
		d.Bus.Write32(d.Base+regDriverFeatures, uint32(got>>(32*sel)))
	}
	d.setStatus(statusFeaturesOK)
	if d.status()&statusFeaturesOK == 0 {
		d.setStatus(statusFailed)
		return 0, fmt.Errorf("virtio: device at %#x refused features %#x", d.Base, got)
	}
	return got, nil
}

// SetupQueue tells the device where queue index q lives.
func (d *Device) SetupQueue(index int, q *Queue) error {
	d.Bus.Write32(d.Base+regQueueSel, uint32(index))
	if d.Bus.Read32(d.Base+regQueueReady) != 0 {
		return fmt.Errorf("virtio: queue %d of device at %#x is already in use", index, d.Base)
	}
	max := d.Bus.Read32(d.Base + regQueueNumMax)
	if max == 0 {
		return fmt.Errorf("virtio: device at %#x has no queue %d", d.Base, index)
	}
	if uint32(q.size) > max {
		return fmt.Errorf("virtio: queue %d of device at %#x holds at most %d entries, not %d", index, d.Base, max, q.size)
	}
	d.Bus.Write32(d.Base+regQueueNum, uint32(q.size))
	for _, r := range []struct {
		lo uintptr
		pa uint64
	}{{regQueueDescLo, q.descPA}, {regQueueDriverLo, q.availPA}, {regQueueDeviceLo, q.usedPA}} {
		d.Bus.Write32(d.Base+r.lo, uint32(r.pa))
		d.Bus.Write32(d.Base+r.lo+4, uint32(r.pa>>32))
	}
	d.Bus.Write32(d.Base+regQueueReady, 1)
	return nil
}

// Ready tells the device the driver is set up (DRIVER_OK).
func (d *Device) Ready() { d.setStatus(statusDriverOK) }

// Notify tells the device that queue index has new buffers.
func (d *Device) Notify(index int) { d.Bus.Write32(d.Base+regQueueNotify, uint32(index)) }

// AckInterrupt acknowledges and returns the device's interrupt causes.
func (d *Device) AckInterrupt() uint32 {
	s := d.Bus.Read32(d.Base + regInterruptStat)
	d.Bus.Write32(d.Base+regInterruptACK, s)
	return s
}

// Config returns the 32-bit word at offset off of the device-specific
// configuration space.
func (d *Device) Config(off uintptr) uint32 { return d.Bus.Read32(d.Base + regConfig + off) }

// configTries bounds ReadConfig's retries of a configuration space that
// keeps changing under it.
const configTries = 16

// ReadConfig fills b from the device-specific configuration space at
// offset off with byte accesses, for fields that are not 32-bit words
// (the virtio-net MAC address). A field read in several accesses may tear
// if the device changes it meanwhile, so the read is repeated until the
// configuration generation (ConfigGeneration, §4.2.2) is the same before
// and after it (§2.5.1).
func (d *Device) ReadConfig(off uintptr, b []byte) error {
	for try := 0; try < configTries; try++ {
		gen := d.Bus.Read32(d.Base + regConfigGen)
		for i := range b {
			b[i] = d.Bus.Read8(d.Base + regConfig + off + uintptr(i))
		}
		if d.Bus.Read32(d.Base+regConfigGen) == gen {
			return nil
		}
	}
	return fmt.Errorf("virtio: configuration of device at %#x kept changing over %d reads", d.Base, configTries)
}

// fail tells the device the driver has given up on it (FAILED, §2.1).
func (d *Device) fail() { d.setStatus(statusFailed) }
