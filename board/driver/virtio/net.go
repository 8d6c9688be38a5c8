package virtio

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/board/dma"
)

// netFeatureMAC (VIRTIO_NET_F_MAC, §5.1.3) says the configuration space
// holds the device's Ethernet address. It is the only network feature the
// driver accepts: the guest offloads (GUEST_TSO4/6, GUEST_UFO) would let the
// device deliver 64 KiB frames, MRG_RXBUF would spread a frame over several
// buffers, and CSUM/GUEST_CSUM would leave checksums to fill in or check
// (§5.1.6.2, §5.1.6.3). Without them every frame is one buffer of at most
// NetHeaderLen+board.MaxFrame bytes with complete checksums.
const netFeatureMAC = 1 << 5

// Geometry of the driver's queues and buffers.
const (
	// NetHeaderLen is the length of the struct virtio_net_hdr that
	// precedes every frame in a buffer (§5.1.6): 12 bytes, num_buffers
	// included, because VIRTIO_F_VERSION_1 is negotiated; only a legacy
	// device without MRG_RXBUF uses the 10-byte form (§5.1.6.1).
	NetHeaderLen = 12
	// NetBufSize is the length of each receive and transmit buffer. It
	// must be at least NetHeaderLen+board.MaxFrame = 1526, the least
	// §5.1.6.3.1 asks of receive buffers without MRG_RXBUF or the guest
	// offloads; a power of two keeps the buffers in a simple array.
	NetBufSize = 2048
	// NetRxQueueSize and NetTxQueueSize are the queues' entries (powers of
	// two). QEMU 7.2's virtio-mmio reports a QueueNumMax of 1024 and its
	// virtio-net defaults to 256; these fit in both, and use 384 KiB of
	// buffers.
	NetRxQueueSize = 128
	NetTxQueueSize = 64
)

// The queues of a device without VIRTIO_NET_F_MQ (§5.1.2).
const (
	netRxQueue = 0 // receiveq1
	netTxQueue = 1 // transmitq1
)

// Errors of Net.Transmit. Both are plain values, so that failing to send
// allocates nothing.
var (
	// ErrFrameSize is returned for a frame shorter than board.MinFrame or
	// longer than board.MaxFrame.
	ErrFrameSize = errors.New("virtio-net: frame is shorter than an Ethernet header or longer than 1514 bytes")
	// ErrTxFull is returned while every transmit buffer is still with the
	// device.
	ErrTxFull = errors.New("virtio-net: every transmit buffer is with the device")
)

// NetStats counts what a Net has done, for reports.
type NetStats struct {
	// Received counts frames handed out by Receive.
	Received uint64
	// BadLength counts receive buffers the device returned with a length
	// that does not hold a header and a frame of board.MinFrame to
	// board.MaxFrame bytes; the frames were dropped, the buffers posted
	// again.
	BadLength uint64
	// BadID counts used-ring elements ignored because their id was out of
	// range or named a buffer that was not with the device.
	BadID uint64
	// Transmitted counts frames handed to the device.
	Transmitted uint64
	// TxFull counts Transmit calls that failed with ErrTxFull.
	TxFull uint64
}

// Net is a virtio network device (§5.1) with one receive and one transmit
// queue. It implements board.NIC: descriptor i of each queue always
// describes buffer i, buffers are allocated once by NewNet, and no method
// allocates.
//
// The device is not trusted to follow the protocol: every used-ring
// element is checked against the driver's own record of which buffers the
// device holds, so a buggy or hostile device can make the driver drop
// frames but never index out of bounds or hand a buffer out twice.
type Net struct {
	dev    *Device
	mac    [6]byte
	rx, tx *Queue
	rxBuf  []byte // NetRxQueueSize buffers of NetBufSize bytes
	txBuf  []byte // NetTxQueueSize buffers
	rxPA   uint64 // physical address of rxBuf
	txPA   uint64
	// rxPosted[i] is whether receive buffer i is with the device; held
	// is the buffer of the frame Receive returned, or -1.
	rxPosted [NetRxQueueSize]bool
	held     int
	// txBusy[i] is whether transmit buffer i is with the device; the
	// first txFreeN entries of txFree are the buffers that are not.
	txBusy  [NetTxQueueSize]bool
	txFree  [NetTxQueueSize]uint16
	txFreeN int
	stats   NetStats
}

var _ board.NIC = (*Net)(nil)

// NewNet sets up the network device dev with its queues and buffers in
// memory from alloc, fills the receive queue, and starts the device
// (§3.1.1, §4.2.3, §5.1.5). It fails, naming the device, if dev is not a
// network device, is a legacy one (ErrLegacy), does not offer
// VIRTIO_F_VERSION_1 or a MAC address, has queues smaller than
// NetRxQueueSize and NetTxQueueSize, or if alloc has too little memory
// left (checked before the device is touched).
func NewNet(dev *Device, alloc *dma.Allocator) (*Net, error) {
	if id := dev.ID(); id != TypeNet {
		return nil, fmt.Errorf("virtio-net at %#x: device is type %d, not a network device (%d)", dev.Base, id, TypeNet)
	}
	n := &Net{dev: dev, held: -1}
	var err error
	if n.rx, err = newQueue(alloc, NetRxQueueSize); err != nil {
		return nil, fmt.Errorf("virtio-net at %#x: receive queue: %w", dev.Base, err)
	}
	if n.tx, err = newQueue(alloc, NetTxQueueSize); err != nil {
		return nil, fmt.Errorf("virtio-net at %#x: transmit queue: %w", dev.Base, err)
	}
	if n.rxBuf, n.rxPA, err = alloc.Alloc(NetRxQueueSize*NetBufSize, 16); err != nil {
		return nil, fmt.Errorf("virtio-net at %#x: receive buffers: %w", dev.Base, err)
	}
	if n.txBuf, n.txPA, err = alloc.Alloc(NetTxQueueSize*NetBufSize, 16); err != nil {
		return nil, fmt.Errorf("virtio-net at %#x: transmit buffers: %w", dev.Base, err)
	}

	got, err := dev.Init(netFeatureMAC)
	if errors.Is(err, ErrLegacy) {
		return nil, fmt.Errorf("virtio-net at %#x: %w", dev.Base, err)
	} else if err != nil {
		return nil, fmt.Errorf("virtio-net: %w", err) // names the device
	}
	// §5.1.4.1: without VIRTIO_NET_F_MAC the driver would have to make
	// up an address; QEMU always offers one (hw/net/virtio-net.c).
	if got&netFeatureMAC == 0 {
		dev.fail()
		return nil, fmt.Errorf("virtio-net at %#x: device offers no MAC address (VIRTIO_NET_F_MAC)", dev.Base)
	}
	// mac is the first field of struct virtio_net_config (§5.1.4): six
	// bytes, read with byte accesses under the configuration generation.
	if err := dev.ReadConfig(0, n.mac[:]); err != nil {
		dev.fail()
		return nil, fmt.Errorf("virtio-net: %w", err)
	}
	for _, q := range []struct {
		index int
		q     *Queue
	}{{netRxQueue, n.rx}, {netTxQueue, n.tx}} {
		if err := dev.SetupQueue(q.index, q.q); err != nil {
			dev.fail()
			return nil, fmt.Errorf("virtio-net: %w", err)
		}
	}
	// Transmit completions are collected by Transmit itself; the device
	// need not interrupt for them.
	n.tx.SetNoInterrupt(true)
	for i := range NetTxQueueSize {
		n.txFree[i] = uint16(NetTxQueueSize - 1 - i)
	}
	n.txFreeN = NetTxQueueSize
	// Buffers may be offered before DRIVER_OK, notifications not
	// (§3.1.1, §5.1.5).
	for i := range NetRxQueueSize {
		n.post(uint32(i))
	}
	dev.Ready()
	dev.Notify(netRxQueue)
	return n, nil
}

// newQueue lays out a queue of size entries in memory from alloc.
func newQueue(alloc *dma.Allocator, size int) (*Queue, error) {
	mem, pa, err := alloc.Alloc(QueueBytes(size), 16) // the descriptor table's alignment (§2.7)
	if err != nil {
		return nil, err
	}
	return NewQueue(mem, pa, size)
}

// MAC returns the device's Ethernet address.
func (n *Net) MAC() [6]byte { return n.mac }

// Stats returns the driver's counters.
func (n *Net) Stats() NetStats { return n.stats }

// post gives receive buffer i to the device. The descriptor is written
// afresh each time, so a device that scribbled on the table cannot
// redirect the buffer.
func (n *Net) post(i uint32) {
	n.rx.SetDesc(int(i), n.rxPA+uint64(i)*NetBufSize, NetBufSize, DescWrite, 0)
	n.rx.Offer(uint16(i))
	n.rxPosted[i] = true
}

// Receive returns the next frame the device has delivered, without its
// virtio_net_hdr, or nil if there is none, or if the last frame returned
// has not been Released yet (its buffer is never reused before that).
//
// The frame's length comes from the used element, which says how many
// bytes the device wrote (§2.7.8), not from the descriptor, which says how
// many it could have. Buffers whose length leaves no valid frame are
// dropped and posted again; used elements naming a buffer the device does
// not hold are ignored.
func (n *Net) Receive() []byte {
	if n.held >= 0 {
		return nil
	}
	var frame []byte
	reposted := false
	for {
		id, length, ok := n.rx.Used()
		if !ok {
			break
		}
		if id >= NetRxQueueSize || !n.rxPosted[id] {
			n.stats.BadID++
			continue
		}
		n.rxPosted[id] = false
		// The upper bound also keeps length within the buffer: the
		// device may claim more than the descriptor's NetBufSize.
		if length < NetHeaderLen+board.MinFrame || length > NetHeaderLen+board.MaxFrame {
			n.stats.BadLength++
			n.post(id)
			reposted = true
			continue
		}
		off := int(id) * NetBufSize
		frame = n.rxBuf[off+NetHeaderLen : off+int(length) : off+int(length)]
		n.held = int(id)
		n.stats.Received++
		break
	}
	if reposted {
		n.dev.Notify(netRxQueue)
	}
	return frame
}

// Release gives the buffer of the frame Receive last returned back to the
// device, and tells the device: QEMU holds frames that found no buffer
// until the receive queue is notified.
func (n *Net) Release() {
	if n.held < 0 {
		return
	}
	n.post(uint32(n.held))
	n.held = -1
	n.dev.Notify(netRxQueue)
}

// Transmit copies frame behind a zeroed virtio_net_hdr (no offloads, and
// num_buffers 0 as §5.1.6.2.1 asks of a driver) into a free transmit
// buffer and hands it to the device, after reclaiming the buffers of the
// frames the device has sent. It fails with ErrFrameSize or ErrTxFull,
// sending nothing.
func (n *Net) Transmit(frame []byte) error {
	if len(frame) < board.MinFrame || len(frame) > board.MaxFrame {
		return ErrFrameSize
	}
	n.reclaim()
	if n.txFreeN == 0 {
		n.stats.TxFull++
		return ErrTxFull
	}
	n.txFreeN--
	id := n.txFree[n.txFreeN]
	n.txBusy[id] = true
	off := int(id) * NetBufSize
	buf := n.txBuf[off : off+NetHeaderLen+len(frame)]
	clear(buf[:NetHeaderLen])
	copy(buf[NetHeaderLen:], frame)
	n.tx.SetDesc(int(id), n.txPA+uint64(off), uint32(len(buf)), 0, 0) // device-readable, one descriptor
	n.tx.Offer(id)
	n.dev.Notify(netTxQueue)
	n.stats.Transmitted++
	return nil
}

// reclaim takes back the transmit buffers the device has finished with.
func (n *Net) reclaim() {
	for {
		id, _, ok := n.tx.Used()
		if !ok {
			return
		}
		if id >= NetTxQueueSize || !n.txBusy[id] {
			n.stats.BadID++
			continue
		}
		n.txBusy[id] = false
		n.txFree[n.txFreeN] = uint16(id)
		n.txFreeN++
	}
}

// Interrupt acknowledges the device's interrupt (§4.2.3.4) and reclaims
// finished transmit buffers. The used rings are read only after the
// acknowledgement (here, and by Receive): a buffer the device used while
// its interrupt was still pending sets no new interrupt, so a driver that
// read the ring first and acknowledged after could miss it until some
// later frame.
func (n *Net) Interrupt() {
	n.dev.AckInterrupt()
	n.reclaim()
}
