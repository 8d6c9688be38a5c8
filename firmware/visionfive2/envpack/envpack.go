// Package envpack stores the VisionFive 2 firmware's environment images as
// one archive in which each image may copy from the ones before it, and
// serves them as the plain ELF files firmware/boot reads.
//
// Why: the images are Go programs linked at the same address with the
// same runtime, so most of each one repeats an earlier one at distances
// far beyond gzip's 32 KiB window. Compressed one by one with gzip -9,
// hello, counter and echo take about 2.0 MB, which with the kernel does
// not fit StarFive's 4 MiB payload partition; packed here they take a
// fraction of that (docs/BOARDS.md, "Image size"). The payload stays one
// FIT image that U-Boot SPL loads; nothing else on the card is read.
//
// Format (all integers unsigned LEB128 varints, as encoding/binary's
// Uvarint):
//
//	"EXOPACK1"                    magic, 8 bytes
//	DEFLATE stream (RFC 1951) of:
//	  count                       number of images
//	  count × (nameLen, name, size, crc)   crc: CRC-32 (IEEE) of the image
//	  cmdLen, then cmdLen bytes of commands, each
//	    run       literal bytes to take next from the literals
//	    copy      0: none (the last command only); else a copy of
//	              copy+MinMatch-1 bytes from dist bytes back in all
//	              produced so far (earlier images too)
//	    dist      (when copy ≠ 0) the distance; 0 repeats the
//	              previous copy's distance
//	  the literals, every run's bytes in order
//
// Commands and literals are apart so that DEFLATE sees the literal bytes
// as the plain code and data they mostly are.
//
// Open is safe on hostile input: every length and distance is checked
// against what was declared and produced, the total is bounded by
// MaxTotal, and it never panics.
package envpack

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"
)

// Magic starts every archive.
const Magic = "EXOPACK1"

// Bounds on what Open accepts.
const (
	// MaxTotal bounds the images' decompressed sizes together, so that a
	// corrupt archive cannot exhaust the kernel's heap (its region is
	// 64 MiB; the images are a few MiB).
	MaxTotal = 32 << 20
	// MaxImages bounds the number of images.
	MaxImages = 64
	// MaxName bounds an image's name.
	MaxName = 64
	// MinMatch is the shortest copy the format encodes.
	MinMatch = 4
)

// Image is one named image for Pack.
type Image struct {
	Name string
	Data []byte
}

// Open decodes an archive and returns a file system whose root holds each
// image under its name. It fails, naming what is wrong and where, on a
// truncated, corrupt or oversized archive.
func Open(archive []byte) (fs.FS, error) {
	if len(archive) < len(Magic) || string(archive[:len(Magic)]) != Magic {
		return nil, errors.New("envpack: not an archive (no EXOPACK1 magic)")
	}
	r := bufio.NewReader(flate.NewReader(bytes.NewReader(archive[len(Magic):])))
	count, err := uvarint(r, "image count")
	if err != nil {
		return nil, err
	}
	if count == 0 || count > MaxImages {
		return nil, fmt.Errorf("envpack: %d images (want 1..%d)", count, MaxImages)
	}
	names := make([]string, count)
	sizes := make([]int, count)
	crcs := make([]uint32, count)
	total := 0
	for i := range names {
		n, err := uvarint(r, "name length")
		if err != nil {
			return nil, err
		}
		if n == 0 || n > MaxName {
			return nil, fmt.Errorf("envpack: image %d: name of %d bytes (want 1..%d)", i, n, MaxName)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("envpack: image %d: name: %w", i, err)
		}
		names[i] = string(b)
		if !validName(names[i]) {
			return nil, fmt.Errorf("envpack: image %d: name %q is not a file name", i, names[i])
		}
		for _, prev := range names[:i] {
			if prev == names[i] {
				return nil, fmt.Errorf("envpack: image %q appears twice", names[i])
			}
		}
		s, err := uvarint(r, "image size")
		if err != nil {
			return nil, err
		}
		if s > uint64(MaxTotal-total) {
			return nil, fmt.Errorf("envpack: image %q: %d bytes make more than %d in all", names[i], s, MaxTotal)
		}
		sizes[i] = int(s)
		total += int(s)
		crc, err := uvarint(r, "checksum")
		if err != nil {
			return nil, err
		}
		if crc > 0xffffffff {
			return nil, fmt.Errorf("envpack: image %q: checksum %#x is not 32 bits", names[i], crc)
		}
		crcs[i] = uint32(crc)
	}
	nc, err := uvarint(r, "command length")
	if err != nil {
		return nil, err
	}
	// Every command produces at least one byte and takes at most three
	// varints of ten bytes.
	if nc > 30*uint64(total)+30 {
		return nil, fmt.Errorf("envpack: %d bytes of commands for %d bytes of images", nc, total)
	}
	cmds := make([]byte, nc)
	if _, err := io.ReadFull(r, cmds); err != nil {
		return nil, fmt.Errorf("envpack: commands: %w", err)
	}
	c := bytes.NewReader(cmds)
	out := make([]byte, total)
	pos := 0
	var last uint64
	for pos < total {
		run, err := uvarint(c, "literal run")
		if err != nil {
			return nil, fmt.Errorf("%w at byte %d of %d", err, pos, total)
		}
		if run > uint64(total-pos) {
			return nil, fmt.Errorf("envpack: literal run of %d bytes at byte %d of %d", run, pos, total)
		}
		if _, err := io.ReadFull(r, out[pos:pos+int(run)]); err != nil {
			return nil, fmt.Errorf("envpack: literals at byte %d: %w", pos, err)
		}
		pos += int(run)
		n, err := uvarint(c, "copy length")
		if err != nil {
			return nil, fmt.Errorf("%w at byte %d of %d", err, pos, total)
		}
		if n == 0 {
			if run == 0 {
				return nil, fmt.Errorf("envpack: empty command at byte %d", pos)
			}
			continue
		}
		n += MinMatch - 1
		dist, err := uvarint(c, "copy distance")
		if err != nil {
			return nil, err
		}
		if dist == 0 {
			dist = last
		}
		if dist == 0 || dist > uint64(pos) || n > uint64(total-pos) {
			return nil, fmt.Errorf("envpack: copy of %d bytes from %d back at byte %d of %d", n, dist, pos, total)
		}
		last = dist
		// Byte by byte: a copy may overlap what it produces.
		from := pos - int(dist)
		for i := 0; i < int(n); i++ {
			out[pos+i] = out[from+i]
		}
		pos += int(n)
	}
	if c.Len() != 0 {
		return nil, fmt.Errorf("envpack: %d bytes of commands left after the last image", c.Len())
	}
	// The DEFLATE stream must end here, whole: a truncated archive whose
	// images happen to be complete is still refused.
	if _, err := r.ReadByte(); err != io.EOF {
		if err == nil {
			return nil, errors.New("envpack: data after the last image")
		}
		return nil, fmt.Errorf("envpack: end of archive: %w", err)
	}
	files := make(mapFS, count)
	off := 0
	for i, name := range names {
		b := out[off : off+sizes[i] : off+sizes[i]]
		if got := crc32.ChecksumIEEE(b); got != crcs[i] {
			return nil, fmt.Errorf("envpack: image %q: checksum %#08x, the archive says %#08x (corrupt archive)", name, got, crcs[i])
		}
		files[name] = b
		off += sizes[i]
	}
	return files, nil
}

// validName reports whether name can be an image's name: one path
// element, not ".".
func validName(name string) bool {
	return fs.ValidPath(name) && name != "." && !strings.Contains(name, "/")
}

func uvarint(r io.ByteReader, what string) (uint64, error) {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("envpack: %s: %w", what, err)
	}
	return v, nil
}

// mapFS is a flat, read-only file system of named byte slices.
type mapFS map[string][]byte

// Open implements fs.FS.
func (m mapFS) Open(name string) (fs.File, error) {
	if name == "." {
		return &dir{m: m}, nil
	}
	b, ok := m[name]
	if !ok || !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &file{info: info{name: name, size: int64(len(b))}, r: bytes.NewReader(b)}, nil
}

type info struct {
	name string
	size int64
	dir  bool
}

// Name is the file name.
func (i info) Name() string { return i.name }

// Size is the length in bytes.
func (i info) Size() int64 { return i.size }

// Mode is read-only, a directory for the root.
func (i info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

// ModTime is the zero time.
func (i info) ModTime() time.Time { return time.Time{} }

// IsDir reports whether this is the root.
func (i info) IsDir() bool { return i.dir }

// Sys is nil.
func (i info) Sys() any { return nil }

// Type is Mode's type bits.
func (i info) Type() fs.FileMode { return i.Mode().Type() }

// Info returns i itself.
func (i info) Info() (fs.FileInfo, error) { return i, nil }

type file struct {
	info info
	r    *bytes.Reader
}

// Stat implements fs.File.
func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }

// Read implements fs.File.
func (f *file) Read(b []byte) (int, error) { return f.r.Read(b) }

// Close implements fs.File.
func (f *file) Close() error { return nil }

type dir struct {
	m    mapFS
	list []fs.DirEntry
	off  int
}

// Stat implements fs.File.
func (d *dir) Stat() (fs.FileInfo, error) { return info{name: ".", dir: true}, nil }

// Read fails: the root is a directory.
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: ".", Err: fs.ErrInvalid}
}

// Close implements fs.File.
func (d *dir) Close() error { return nil }

// ReadDir lists the images in name order, as fs.ReadDirFile specifies.
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.list == nil {
		names := make([]string, 0, len(d.m))
		for k := range d.m {
			names = append(names, k)
		}
		sort.Strings(names)
		d.list = make([]fs.DirEntry, len(names))
		for i, k := range names {
			d.list[i] = info{name: k, size: int64(len(d.m[k]))}
		}
	}
	rest := d.list[d.off:]
	if n <= 0 {
		d.off = len(d.list)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return rest[:n], nil
}
