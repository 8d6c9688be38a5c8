package board

// NIC is a network interface as the kernel drives it: the same interface
// for virtio-net on QEMU and the JH7110's GMAC on the VisionFive 2, so the
// kernel never names a device. A NIC owns its descriptor rings and buffers
// (allocated once, from the board's DMA region); no method allocates.
//
// The kernel calls it from one hart with interrupts masked; a NIC needs no
// locking of its own.
type NIC interface {
	// MAC returns the interface's Ethernet address.
	MAC() [6]byte
	// Receive returns the next received frame (Ethernet header first, no
	// FCS, no device header), or nil if none is waiting. The bytes stay
	// valid, and the buffer stays out of the device's hands, until
	// Release; the kernel calls Release before the next Receive.
	Receive() []byte
	// Release gives the buffer of the frame Receive last returned back
	// to the device.
	Release()
	// Transmit copies frame (an Ethernet frame without FCS) into a
	// transmit buffer and hands it to the device, reclaiming the buffers
	// of frames the device has finished sending first (without relying
	// on a transmit interrupt). It fails, sending nothing, when the frame
	// is shorter than an Ethernet header or longer than MaxFrame, or when
	// every transmit buffer is still with the device.
	Transmit(frame []byte) error
	// Interrupt acknowledges the device's interrupt. Received frames are
	// then taken with Receive.
	Interrupt()
}

// MaxFrame is the longest Ethernet frame without FCS a NIC carries: 1500
// bytes of payload and the 14-byte header (no VLAN tag).
const MaxFrame = 1514

// MinFrame is the shortest: an Ethernet header.
const MinFrame = 14
