// Package gzimages serves gzip-compressed environment images as the plain
// ELF files firmware/boot reads: NAME.elf.gz in the embedded directory
// becomes NAME.elf. The VisionFive 2 firmware stores its images this way
// so that the payload fits the 4 MiB partition StarFive's SD card layout
// gives it.
package gzimages

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// MaxImage bounds a decompressed image, so that a corrupt or hostile
// archive cannot exhaust the kernel's heap.
const MaxImage = 32 << 20

// Open decompresses every NAME.elf.gz in dir of fsys and returns a file
// system whose root holds NAME.elf for each. Other files are ignored.
func Open(fsys fs.FS, dir string) (fs.FS, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	out := mapFS{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".elf.gz") {
			continue
		}
		f, err := fsys.Open(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		b, err := inflate(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("gzimages: %s: %w", e.Name(), err)
		}
		out[strings.TrimSuffix(e.Name(), ".gz")] = b
	}
	return out, nil
}

func inflate(r io.Reader) ([]byte, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(z, MaxImage+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxImage {
		return nil, fmt.Errorf("larger than %d bytes", MaxImage)
	}
	return b, z.Close()
}

// mapFS is a flat, read-only file system of named byte slices.
type mapFS map[string][]byte

// Open implements fs.FS.
func (m mapFS) Open(name string) (fs.File, error) {
	if name == "." {
		return &dir{m: m}, nil
	}
	b, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &file{info: info{name: name, size: int64(len(b))}, r: bytes.NewReader(b)}, nil
}

type info struct {
	name string
	size int64
	dir  bool
}

// The fs.FileInfo and fs.DirEntry methods.

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
	list []fs.DirEntry // nil until the first ReadDir
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
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}
