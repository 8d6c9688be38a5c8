package envpack

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Encoder parameters: a copy at a new distance must be at least newMatch
// bytes to be worth its distance; one at the previous distance (the
// common case where two images differ only in a few relocated addresses)
// at least MinMatch. chainDepth bounds the candidates looked at per byte.
const (
	hashLen    = 8
	newMatch   = 12
	chainDepth = 48
	hashBits   = 20
)

// Pack encodes images, in the order given, as an archive Open reads. The
// output depends only on the input. It fails on names or sizes Open
// would refuse.
func Pack(images []Image) ([]byte, error) {
	if len(images) == 0 || len(images) > MaxImages {
		return nil, fmt.Errorf("envpack: %d images (want 1..%d)", len(images), MaxImages)
	}
	var hdr []byte
	hdr = binary.AppendUvarint(hdr, uint64(len(images)))
	total := 0
	seen := map[string]bool{}
	for _, im := range images {
		if len(im.Name) == 0 || len(im.Name) > MaxName || !validName(im.Name) {
			return nil, fmt.Errorf("envpack: image name %q: want a file name of 1..%d bytes", im.Name, MaxName)
		}
		if seen[im.Name] {
			return nil, fmt.Errorf("envpack: image %q appears twice", im.Name)
		}
		seen[im.Name] = true
		if len(im.Data) > MaxTotal-total {
			return nil, fmt.Errorf("envpack: image %q: %d bytes make more than %d in all", im.Name, len(im.Data), MaxTotal)
		}
		total += len(im.Data)
		hdr = binary.AppendUvarint(hdr, uint64(len(im.Name)))
		hdr = append(hdr, im.Name...)
		hdr = binary.AppendUvarint(hdr, uint64(len(im.Data)))
		hdr = binary.AppendUvarint(hdr, uint64(crc32.ChecksumIEEE(im.Data)))
	}
	data := make([]byte, 0, total)
	for _, im := range images {
		data = append(data, im.Data...)
	}
	var out bytes.Buffer
	out.WriteString(Magic)
	w, err := flate.NewWriter(&out, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	if _, err := w.Write(tokens(data)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func hash8(b []byte) uint32 {
	return uint32(binary.LittleEndian.Uint64(b)*0x9e3779b97f4a7c15>>(64-hashBits)) & (1<<hashBits - 1)
}

func matchLen(data []byte, a, b int) int {
	n := 0
	for b+n < len(data) && data[a+n] == data[b+n] {
		n++
	}
	return n
}

// tokens is the greedy LZ77 parse of data described in the package
// comment, with a hash chain over every position.
func tokens(data []byte) []byte {
	head := make([]int32, 1<<hashBits)
	for i := range head {
		head[i] = -1
	}
	prev := make([]int32, len(data))
	insert := func(i int) {
		if i+hashLen <= len(data) {
			h := hash8(data[i:])
			prev[i] = head[h]
			head[h] = int32(i)
		}
	}
	var cmds, lit []byte
	run := 0 // literals since the last copy
	last := 0
	for i := 0; i < len(data); {
		bestLen, bestDist := 0, 0
		if last > 0 && last <= i {
			if n := matchLen(data, i-last, i); n >= MinMatch {
				bestLen, bestDist = n, last
			}
		}
		if i+hashLen <= len(data) {
			c := head[hash8(data[i:])]
			for d := 0; c >= 0 && d < chainDepth; d++ {
				if n := matchLen(data, int(c), i); n >= newMatch && n > bestLen+2 {
					bestLen, bestDist = n, i-int(c)
				}
				c = prev[c]
			}
		}
		if bestLen == 0 {
			lit = append(lit, data[i])
			run++
			insert(i)
			i++
			continue
		}
		cmds = binary.AppendUvarint(cmds, uint64(run))
		cmds = binary.AppendUvarint(cmds, uint64(bestLen-MinMatch+1))
		if bestDist == last {
			cmds = binary.AppendUvarint(cmds, 0)
		} else {
			cmds = binary.AppendUvarint(cmds, uint64(bestDist))
		}
		run, last = 0, bestDist
		for k := 0; k < bestLen; k++ {
			insert(i + k)
		}
		i += bestLen
	}
	if run > 0 {
		cmds = binary.AppendUvarint(cmds, uint64(run))
		cmds = binary.AppendUvarint(cmds, 0)
	}
	out := binary.AppendUvarint(nil, uint64(len(cmds)))
	out = append(out, cmds...)
	return append(out, lit...)
}
