package gzimages

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestOpen(t *testing.T) {
	hello := bytes.Repeat([]byte("\x7fELF hello "), 1000)
	src := fstest.MapFS{
		"images/hello.elf.gz":   {Data: gz(t, hello)},
		"images/counter.elf.gz": {Data: gz(t, []byte("counter"))},
		"images/README":         {Data: []byte("ignored")},
	}
	fsys, err := Open(src, "images")
	require.NoError(t, err)
	require.NoError(t, fstest.TestFS(fsys, "hello.elf", "counter.elf"))
	b, err := fs.ReadFile(fsys, "hello.elf")
	require.NoError(t, err)
	require.Equal(t, hello, b)
	var names []string
	require.NoError(t, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if !d.IsDir() {
			names = append(names, p)
		}
		return err
	}))
	require.Equal(t, []string{"counter.elf", "hello.elf"}, names)
}

func TestOpenRefusesBadArchives(t *testing.T) {
	_, err := Open(fstest.MapFS{"images/x.elf.gz": {Data: []byte("not gzip")}}, "images")
	require.ErrorContains(t, err, "x.elf.gz")
	big := gz(t, make([]byte, MaxImage+1))
	_, err = Open(fstest.MapFS{"images/big.elf.gz": {Data: big}}, "images")
	require.ErrorContains(t, err, "larger than")
	_, err = Open(fstest.MapFS{}, "images")
	require.Error(t, err)
}
