package ash

import "encoding/binary"

// Run executes a verified program once. It does not allocate. A non-nil
// error means the input did not match the verified configuration, or the
// machine caught a fault that verification should have excluded (a verifier
// bug); the kernel should then treat the packet as unhandled.
func (m *Machine) Run(p *Program, in *Input) (Result, error) {
	res := Result{ReplyLen: -1}
	if err := m.setup(p, in); err != nil {
		return res, err
	}
	le := binary.LittleEndian
	// Sixteen registers so that a 4-bit register field never needs a
	// bounds check; the verifier rejects r11-r15.
	var r [16]uint64
	r[1] = addr(regCtx, 0)
	r[10] = addr(regStack, p.stackDepth) // the mapped stack ends at r10
	insns := p.insns
	n := len(insns)
	pc := 0
	// The verifier proved the program acyclic, so no run executes more
	// instructions than there are; the budget is belt and braces.
	for steps := 1; ; steps++ {
		if uint(pc) >= uint(n) || steps > n {
			return res, m.fault(pc, "control left the program or exceeded %d steps", n)
		}
		in := insns[pc]
		d, s := in.Dst&15, in.Src&15
		switch in.Op {
		case 0x7:
			r[d] += uint64(int64(in.Imm))
		case 0xf:
			r[d] += r[s]
		case 0x4:
			r[d] = uint64(uint32(r[d]) + uint32(in.Imm))
		case 0xc:
			r[d] = uint64(uint32(r[d]) + uint32(r[s]))
		case 0x17:
			r[d] -= uint64(int64(in.Imm))
		case 0x1f:
			r[d] -= r[s]
		case 0x14:
			r[d] = uint64(uint32(r[d]) - uint32(in.Imm))
		case 0x1c:
			r[d] = uint64(uint32(r[d]) - uint32(r[s]))
		case 0x27:
			r[d] *= uint64(int64(in.Imm))
		case 0x2f:
			r[d] *= r[s]
		case 0x24:
			r[d] = uint64(uint32(r[d]) * uint32(in.Imm))
		case 0x2c:
			r[d] = uint64(uint32(r[d]) * uint32(r[s]))
		case 0x47:
			r[d] |= uint64(int64(in.Imm))
		case 0x4f:
			r[d] |= r[s]
		case 0x44:
			r[d] = uint64(uint32(r[d]) | uint32(in.Imm))
		case 0x4c:
			r[d] = uint64(uint32(r[d]) | uint32(r[s]))
		case 0x57:
			r[d] &= uint64(int64(in.Imm))
		case 0x5f:
			r[d] &= r[s]
		case 0x54:
			r[d] = uint64(uint32(r[d]) & uint32(in.Imm))
		case 0x5c:
			r[d] = uint64(uint32(r[d]) & uint32(r[s]))
		case 0xa7:
			r[d] ^= uint64(int64(in.Imm))
		case 0xaf:
			r[d] ^= r[s]
		case 0xa4:
			r[d] = uint64(uint32(r[d]) ^ uint32(in.Imm))
		case 0xac:
			r[d] = uint64(uint32(r[d]) ^ uint32(r[s]))
		case 0x37:
			if k := uint64(int64(in.Imm)); k != 0 {
				r[d] /= k
			} else {
				r[d] = 0
			}
		case 0x3f:
			if r[s] != 0 {
				r[d] /= r[s]
			} else {
				r[d] = 0
			}
		case 0x34:
			if k := uint32(in.Imm); k != 0 {
				r[d] = uint64(uint32(r[d]) / k)
			} else {
				r[d] = 0
			}
		case 0x3c:
			if k := uint32(r[s]); k != 0 {
				r[d] = uint64(uint32(r[d]) / k)
			} else {
				r[d] = 0
			}
		case 0x97:
			if k := uint64(int64(in.Imm)); k != 0 {
				r[d] %= k
			}
		case 0x9f:
			if r[s] != 0 {
				r[d] %= r[s]
			}
		case 0x94:
			if k := uint32(in.Imm); k != 0 {
				r[d] = uint64(uint32(r[d]) % k)
			} else {
				r[d] = uint64(uint32(r[d]))
			}
		case 0x9c:
			if k := uint32(r[s]); k != 0 {
				r[d] = uint64(uint32(r[d]) % k)
			} else {
				r[d] = uint64(uint32(r[d]))
			}
		case 0x67:
			r[d] <<= uint64(in.Imm) & 63
		case 0x6f:
			r[d] <<= r[s] & 63
		case 0x64:
			r[d] = uint64(uint32(r[d]) << (uint32(in.Imm) & 31))
		case 0x6c:
			r[d] = uint64(uint32(r[d]) << (uint32(r[s]) & 31))
		case 0x77:
			r[d] >>= uint64(in.Imm) & 63
		case 0x7f:
			r[d] >>= r[s] & 63
		case 0x74:
			r[d] = uint64(uint32(r[d]) >> (uint32(in.Imm) & 31))
		case 0x7c:
			r[d] = uint64(uint32(r[d]) >> (uint32(r[s]) & 31))
		case 0xc7:
			r[d] = uint64(int64(r[d]) >> (uint64(in.Imm) & 63))
		case 0xcf:
			r[d] = uint64(int64(r[d]) >> (r[s] & 63))
		case 0xc4:
			r[d] = uint64(uint32(int32(r[d]) >> (uint32(in.Imm) & 31)))
		case 0xcc:
			r[d] = uint64(uint32(int32(r[d]) >> (uint32(r[s]) & 31)))
		case 0x87:
			r[d] = -r[d]
		case 0x84:
			r[d] = uint64(-uint32(r[d]))
		case 0xb7:
			r[d] = uint64(int64(in.Imm))
		case 0xbf:
			r[d] = r[s]
		case 0xb4:
			r[d] = uint64(uint32(in.Imm))
		case 0xbc:
			r[d] = uint64(uint32(r[s]))
		case 0xd4:
			r[d] = endian(r[d], false, in.Imm)
		case 0xdc:
			r[d] = endian(r[d], true, in.Imm)
		case 0x18:
			if pc+1 >= n {
				return res, m.fault(pc, "lddw without second slot")
			}
			r[d] = uint64(uint32(in.Imm)) | uint64(uint32(insns[pc+1].Imm))<<32
			pc++
		case 0x61:
			b := m.bytes(r[s]+uint64(int64(in.Off)), 4, false)
			if b == nil {
				return res, m.fault(pc, "load of 4 bytes at %#x out of bounds", r[s]+uint64(int64(in.Off)))
			}
			r[d] = uint64(le.Uint32(b))
		case 0x69:
			b := m.bytes(r[s]+uint64(int64(in.Off)), 2, false)
			if b == nil {
				return res, m.fault(pc, "load of 2 bytes at %#x out of bounds", r[s]+uint64(int64(in.Off)))
			}
			r[d] = uint64(le.Uint16(b))
		case 0x71:
			b := m.bytes(r[s]+uint64(int64(in.Off)), 1, false)
			if b == nil {
				return res, m.fault(pc, "load of 1 bytes at %#x out of bounds", r[s]+uint64(int64(in.Off)))
			}
			r[d] = uint64(b[0])
		case 0x79:
			b := m.bytes(r[s]+uint64(int64(in.Off)), 8, false)
			if b == nil {
				return res, m.fault(pc, "load of 8 bytes at %#x out of bounds", r[s]+uint64(int64(in.Off)))
			}
			r[d] = le.Uint64(b)
		case 0x62:
			b := m.bytes(r[d]+uint64(int64(in.Off)), 4, true)
			if b == nil {
				return res, m.fault(pc, "store of 4 bytes at %#x out of bounds or read-only", r[d]+uint64(int64(in.Off)))
			}
			v := uint64(int64(in.Imm))
			le.PutUint32(b, uint32(v))
		case 0x6a:
			b := m.bytes(r[d]+uint64(int64(in.Off)), 2, true)
			if b == nil {
				return res, m.fault(pc, "store of 2 bytes at %#x out of bounds or read-only", r[d]+uint64(int64(in.Off)))
			}
			v := uint64(int64(in.Imm))
			le.PutUint16(b, uint16(v))
		case 0x72:
			b := m.bytes(r[d]+uint64(int64(in.Off)), 1, true)
			if b == nil {
				return res, m.fault(pc, "store of 1 bytes at %#x out of bounds or read-only", r[d]+uint64(int64(in.Off)))
			}
			v := uint64(int64(in.Imm))
			b[0] = uint8(v)
		case 0x7a:
			b := m.bytes(r[d]+uint64(int64(in.Off)), 8, true)
			if b == nil {
				return res, m.fault(pc, "store of 8 bytes at %#x out of bounds or read-only", r[d]+uint64(int64(in.Off)))
			}
			v := uint64(int64(in.Imm))
			le.PutUint64(b, v)
		case 0x63:
			b := m.bytes(r[d]+uint64(int64(in.Off)), 4, true)
			if b == nil {
				return res, m.fault(pc, "store of 4 bytes at %#x out of bounds or read-only", r[d]+uint64(int64(in.Off)))
			}
			v := r[s]
			le.PutUint32(b, uint32(v))
		case 0x6b:
			b := m.bytes(r[d]+uint64(int64(in.Off)), 2, true)
			if b == nil {
				return res, m.fault(pc, "store of 2 bytes at %#x out of bounds or read-only", r[d]+uint64(int64(in.Off)))
			}
			v := r[s]
			le.PutUint16(b, uint16(v))
		case 0x73:
			b := m.bytes(r[d]+uint64(int64(in.Off)), 1, true)
			if b == nil {
				return res, m.fault(pc, "store of 1 bytes at %#x out of bounds or read-only", r[d]+uint64(int64(in.Off)))
			}
			v := r[s]
			b[0] = uint8(v)
		case 0x7b:
			b := m.bytes(r[d]+uint64(int64(in.Off)), 8, true)
			if b == nil {
				return res, m.fault(pc, "store of 8 bytes at %#x out of bounds or read-only", r[d]+uint64(int64(in.Off)))
			}
			v := r[s]
			le.PutUint64(b, v)
		case 0x05:
			pc += int(in.Off)
		case 0x15:
			if r[d] == uint64(int64(in.Imm)) {
				pc += int(in.Off)
			}
		case 0x1d:
			if r[d] == r[s] {
				pc += int(in.Off)
			}
		case 0x16:
			if uint32(r[d]) == uint32(in.Imm) {
				pc += int(in.Off)
			}
		case 0x1e:
			if uint32(r[d]) == uint32(r[s]) {
				pc += int(in.Off)
			}
		case 0x55:
			if r[d] != uint64(int64(in.Imm)) {
				pc += int(in.Off)
			}
		case 0x5d:
			if r[d] != r[s] {
				pc += int(in.Off)
			}
		case 0x56:
			if uint32(r[d]) != uint32(in.Imm) {
				pc += int(in.Off)
			}
		case 0x5e:
			if uint32(r[d]) != uint32(r[s]) {
				pc += int(in.Off)
			}
		case 0x25:
			if r[d] > uint64(int64(in.Imm)) {
				pc += int(in.Off)
			}
		case 0x2d:
			if r[d] > r[s] {
				pc += int(in.Off)
			}
		case 0x26:
			if uint32(r[d]) > uint32(in.Imm) {
				pc += int(in.Off)
			}
		case 0x2e:
			if uint32(r[d]) > uint32(r[s]) {
				pc += int(in.Off)
			}
		case 0x35:
			if r[d] >= uint64(int64(in.Imm)) {
				pc += int(in.Off)
			}
		case 0x3d:
			if r[d] >= r[s] {
				pc += int(in.Off)
			}
		case 0x36:
			if uint32(r[d]) >= uint32(in.Imm) {
				pc += int(in.Off)
			}
		case 0x3e:
			if uint32(r[d]) >= uint32(r[s]) {
				pc += int(in.Off)
			}
		case 0xa5:
			if r[d] < uint64(int64(in.Imm)) {
				pc += int(in.Off)
			}
		case 0xad:
			if r[d] < r[s] {
				pc += int(in.Off)
			}
		case 0xa6:
			if uint32(r[d]) < uint32(in.Imm) {
				pc += int(in.Off)
			}
		case 0xae:
			if uint32(r[d]) < uint32(r[s]) {
				pc += int(in.Off)
			}
		case 0xb5:
			if r[d] <= uint64(int64(in.Imm)) {
				pc += int(in.Off)
			}
		case 0xbd:
			if r[d] <= r[s] {
				pc += int(in.Off)
			}
		case 0xb6:
			if uint32(r[d]) <= uint32(in.Imm) {
				pc += int(in.Off)
			}
		case 0xbe:
			if uint32(r[d]) <= uint32(r[s]) {
				pc += int(in.Off)
			}
		case 0x65:
			if int64(r[d]) > int64(in.Imm) {
				pc += int(in.Off)
			}
		case 0x6d:
			if int64(r[d]) > int64(r[s]) {
				pc += int(in.Off)
			}
		case 0x66:
			if int32(r[d]) > in.Imm {
				pc += int(in.Off)
			}
		case 0x6e:
			if int32(r[d]) > int32(r[s]) {
				pc += int(in.Off)
			}
		case 0x75:
			if int64(r[d]) >= int64(in.Imm) {
				pc += int(in.Off)
			}
		case 0x7d:
			if int64(r[d]) >= int64(r[s]) {
				pc += int(in.Off)
			}
		case 0x76:
			if int32(r[d]) >= in.Imm {
				pc += int(in.Off)
			}
		case 0x7e:
			if int32(r[d]) >= int32(r[s]) {
				pc += int(in.Off)
			}
		case 0xc5:
			if int64(r[d]) < int64(in.Imm) {
				pc += int(in.Off)
			}
		case 0xcd:
			if int64(r[d]) < int64(r[s]) {
				pc += int(in.Off)
			}
		case 0xc6:
			if int32(r[d]) < in.Imm {
				pc += int(in.Off)
			}
		case 0xce:
			if int32(r[d]) < int32(r[s]) {
				pc += int(in.Off)
			}
		case 0xd5:
			if int64(r[d]) <= int64(in.Imm) {
				pc += int(in.Off)
			}
		case 0xdd:
			if int64(r[d]) <= int64(r[s]) {
				pc += int(in.Off)
			}
		case 0xd6:
			if int32(r[d]) <= in.Imm {
				pc += int(in.Off)
			}
		case 0xde:
			if int32(r[d]) <= int32(r[s]) {
				pc += int(in.Off)
			}
		case 0x45:
			if r[d]&uint64(int64(in.Imm)) != 0 {
				pc += int(in.Off)
			}
		case 0x4d:
			if r[d]&r[s] != 0 {
				pc += int(in.Off)
			}
		case 0x46:
			if uint32(r[d])&uint32(in.Imm) != 0 {
				pc += int(in.Off)
			}
		case 0x4e:
			if uint32(r[d])&uint32(r[s]) != 0 {
				pc += int(in.Off)
			}
		case 0x85:
			if err := m.helper(pc, HelperID(in.Imm), &r); err != nil {
				return res, err
			}
		case 0x95:
			res.R0 = r[0]
			res.ReplyLen = m.replyLen
			res.Steps = steps
			return res, nil
		default:
			return res, m.fault(pc, "unknown opcode %#02x", in.Op)
		}
		pc++
	}
}
