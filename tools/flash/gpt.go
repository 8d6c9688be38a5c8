package main

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// The partition types of the boot chain, in StarFive's SD card layout
// (github.com/starfive-tech/VisionFive2, conf/genimage-vf2.cfg: partition
// "spl" at 2 MiB, "uboot" at 4 MiB holding visionfive2_fw_payload.img, both
// 4 MiB or less) and in mainline U-Boot's (doc/board/starfive/
// visionfive2.rst: the boot ROM loads SPL from the partition of type
// TypeSPL; SPL loads the FIT from partition 2, recommended type
// TypeUBootFIT).
const (
	TypeSPL          = "2E54B353-1271-4842-806F-E436D6AF6985" // "HiFive BBL"
	TypeStarFiveFIT  = "5B193300-FC78-40CD-8002-E86C45580B47" // "HiFive FSBL", StarFive's SDK and images
	TypeUBootFIT     = "BC13C2FF-59E6-4262-A352-B275FD6F7172" // mainline U-Boot's recommendation
	PayloadPartition = 2                                      // CONFIG_SYS_MMCSD_RAW_MODE_U_BOOT_PARTITION
)

// Partition is one GPT entry.
type Partition struct {
	Number      int // 1-based
	Type        string
	First, Last uint64 // LBAs, inclusive
	Name        string
}

// Size returns the partition's size in bytes for a sector size.
func (p Partition) Size(sector int64) int64 { return int64(p.Last-p.First+1) * sector }

// guid formats a GPT GUID (mixed-endian on disk).
func guid(b []byte) string {
	le := binary.LittleEndian
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%s-%s", le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]),
		hex.EncodeToString(b[8:10]), hex.EncodeToString(b[10:16])))
}

// ErrNoGPT means the disk has no valid GUID partition table.
var ErrNoGPT = errors.New("no GUID partition table")

// ReadGPT reads and checks the primary GUID partition table (UEFI 2.10
// §5.3): signature, header and entry-array CRC32s, sane sizes. It returns
// the used entries.
func ReadGPT(r io.ReaderAt, sector int64) ([]Partition, error) {
	hdr := make([]byte, sector)
	if _, err := r.ReadAt(hdr, sector); err != nil {
		return nil, fmt.Errorf("%w: reading LBA 1: %v", ErrNoGPT, err)
	}
	le := binary.LittleEndian
	if string(hdr[:8]) != "EFI PART" {
		return nil, ErrNoGPT
	}
	hsize := le.Uint32(hdr[12:])
	if hsize < 92 || int64(hsize) > sector {
		return nil, fmt.Errorf("%w: header size %d", ErrNoGPT, hsize)
	}
	h := append([]byte(nil), hdr[:hsize]...)
	want := le.Uint32(h[16:])
	le.PutUint32(h[16:], 0)
	if crc32.ChecksumIEEE(h) != want {
		return nil, fmt.Errorf("%w: header checksum mismatch", ErrNoGPT)
	}
	entriesLBA, n, esize := le.Uint64(hdr[72:]), le.Uint32(hdr[80:]), le.Uint32(hdr[84:])
	if esize < 128 || esize%8 != 0 || n == 0 || n > 1024 || entriesLBA < 2 {
		return nil, fmt.Errorf("%w: %d entries of %d bytes at LBA %d", ErrNoGPT, n, esize, entriesLBA)
	}
	arr := make([]byte, int(n)*int(esize))
	if _, err := r.ReadAt(arr, int64(entriesLBA)*sector); err != nil {
		return nil, fmt.Errorf("%w: reading the entries: %v", ErrNoGPT, err)
	}
	if crc32.ChecksumIEEE(arr) != le.Uint32(hdr[88:]) {
		return nil, fmt.Errorf("%w: entry array checksum mismatch", ErrNoGPT)
	}
	var parts []Partition
	for i := 0; i < int(n); i++ {
		e := arr[i*int(esize):]
		t := guid(e[:16])
		if t == "00000000-0000-0000-0000-000000000000" {
			continue
		}
		var name []rune
		for j := 56; j+1 < 128; j += 2 {
			c := le.Uint16(e[j:])
			if c == 0 {
				break
			}
			name = append(name, rune(c))
		}
		p := Partition{Number: i + 1, Type: t, First: le.Uint64(e[32:]), Last: le.Uint64(e[40:]), Name: string(name)}
		if p.Last < p.First {
			return nil, fmt.Errorf("%w: partition %d ends before it starts", ErrNoGPT, p.Number)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// CheckLayout finds the partition the payload goes to: there must be an
// SPL partition (or the boot ROM has nothing to start), and partition 2,
// which SPL loads the FIT from, must have one of the FIT types and room
// for size bytes.
func CheckLayout(parts []Partition, sector, size int64) (Partition, error) {
	var spl bool
	var payload *Partition
	for i, p := range parts {
		if p.Type == TypeSPL {
			spl = true
		}
		if p.Number == PayloadPartition {
			payload = &parts[i]
		}
	}
	switch {
	case !spl:
		return Partition{}, fmt.Errorf("no U-Boot SPL partition (type %s): not a VisionFive 2 boot card", TypeSPL)
	case payload == nil:
		return Partition{}, fmt.Errorf("no partition %d, where U-Boot SPL loads its payload from", PayloadPartition)
	case payload.Type != TypeStarFiveFIT && payload.Type != TypeUBootFIT:
		return Partition{}, fmt.Errorf("partition %d (%q) has type %s, not StarFive's payload type %s or U-Boot's %s", PayloadPartition, payload.Name, payload.Type, TypeStarFiveFIT, TypeUBootFIT)
	case payload.Size(sector) < size:
		return Partition{}, fmt.Errorf("partition %d holds %d bytes, the image is %d", PayloadPartition, payload.Size(sector), size)
	}
	return *payload, nil
}
