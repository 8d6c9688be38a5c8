package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
)

// encodeGUID is guid's inverse (for building test images).
func encodeGUID(s string) []byte {
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 {
		panic("bad GUID " + s)
	}
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b, binary.BigEndian.Uint32(h))
	binary.LittleEndian.PutUint16(b[4:], binary.BigEndian.Uint16(h[4:]))
	binary.LittleEndian.PutUint16(b[6:], binary.BigEndian.Uint16(h[6:]))
	copy(b[8:], h[8:])
	return b
}

// writeGPT lays out a GUID partition table in a disk image of the given
// number of sectors (for tests): each part gets an entry in order.
func writeGPT(disk []byte, sector int64, parts []Partition) {
	le := binary.LittleEndian
	const n, esize = 128, 128
	arr := make([]byte, n*esize)
	for i, p := range parts {
		e := arr[i*esize:]
		copy(e, encodeGUID(p.Type))
		copy(e[16:], encodeGUID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)))
		le.PutUint64(e[32:], p.First)
		le.PutUint64(e[40:], p.Last)
		for j, c := range p.Name {
			le.PutUint16(e[56+2*j:], uint16(c))
		}
	}
	h := make([]byte, 92)
	copy(h, "EFI PART")
	le.PutUint32(h[8:], 0x00010000)
	le.PutUint32(h[12:], 92)
	le.PutUint64(h[24:], 1)
	le.PutUint64(h[32:], uint64(int64(len(disk))/sector-1))
	le.PutUint64(h[40:], 34)
	le.PutUint64(h[48:], uint64(int64(len(disk))/sector-34))
	le.PutUint64(h[72:], 2)
	le.PutUint32(h[80:], n)
	le.PutUint32(h[84:], esize)
	le.PutUint32(h[88:], crc32.ChecksumIEEE(arr))
	le.PutUint32(h[16:], crc32.ChecksumIEEE(h))
	copy(disk[sector:], h)
	copy(disk[2*sector:], arr)
	// A protective MBR (UEFI 2.10 §5.2.3): one partition of type 0xEE
	// from LBA 1 to the end of the disk. Linux reads no GPT without it.
	disk[510], disk[511] = 0x55, 0xaa
	disk[446+4] = 0xee
	le.PutUint32(disk[446+8:], 1)
	le.PutUint32(disk[446+12:], uint32(min(int64(len(disk))/sector-1, 0xffffffff)))
}
