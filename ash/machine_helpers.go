package ash

// helper runs helper id with arguments in r[1..5]. Every pointer argument is
// checked against its region again, as loads and stores are.
func (m *Machine) helper(pc int, id HelperID, r *[16]uint64) error {
	var ret uint64
	switch id {
	case HelperSendReply:
		if r[1] > uint64(len(m.mem[regReply])) {
			return m.fault(pc, "send_reply length %d exceeds the %d-byte reply buffer", r[1], len(m.mem[regReply]))
		}
		m.replyLen = int(r[1])
	case HelperPacketCopy:
		reg := r[2] >> regionShift
		if reg != uint64(regReply) && reg != uint64(regMsg) {
			return m.fault(pc, "pkt_copy destination %#x is not in the reply or message buffer", r[2])
		}
		dst, ok := m.span(r[2], r[3], true)
		if !ok {
			return m.fault(pc, "pkt_copy destination %#x+%d out of bounds", r[2], r[3])
		}
		pkt := m.mem[regPacket]
		if r[1] > uint64(len(pkt)) || r[3] > uint64(len(pkt))-r[1] {
			ret = ^uint64(0) // -1: the packet is shorter than asked; defined, not a fault
		} else {
			copy(dst, pkt[r[1]:r[1]+r[3]])
		}
	case HelperPacketCopyCsum:
		reg := r[2] >> regionShift
		if reg != uint64(regReply) && reg != uint64(regMsg) {
			return m.fault(pc, "pkt_copy_csum destination %#x is not in the reply or message buffer", r[2])
		}
		dst, ok := m.span(r[2], r[3], true)
		if !ok {
			return m.fault(pc, "pkt_copy_csum destination %#x+%d out of bounds", r[2], r[3])
		}
		pkt := m.mem[regPacket]
		if r[1] > uint64(len(pkt)) || r[3] > uint64(len(pkt))-r[1] {
			ret = PacketCopyCsumFailed // defined, not a fault
		} else {
			ret = uint64(^csumFold(copyCsum(dst, pkt[r[1]:r[1]+r[3]], uint64(uint32(r[4])))))
		}
	case HelperCsum:
		src, ok := m.span(r[1], r[2], false)
		if !ok || r[1]>>regionShift == uint64(regCtx) {
			return m.fault(pc, "csum source %#x+%d out of bounds", r[1], r[2])
		}
		ret = uint64(^csumFold(csumAdd(uint64(uint32(r[3])), src)))
	case HelperCsumUpdate:
		ret = uint64(csumUpdate(uint16(r[1]), uint16(r[2]), uint16(r[3])))
	default:
		return m.fault(pc, "unknown helper %d", id)
	}
	r[0] = ret
	r[1], r[2], r[3], r[4], r[5] = 0, 0, 0, 0, 0
	return nil
}
