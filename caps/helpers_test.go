package caps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Names the test Authorities track.
const (
	pageBase = 0x80000 // first page of QEMU virt's DRAM
	pages    = 0x1000
	slots    = 64
	envs     = 256
)

var (
	portBase = PortName(0x0800, 17, 0) // UDP over IPv4
	testKey  = key(1)
	otherKey = key(2)
)

// key returns a 32-byte key that differs for each seed.
func key(seed byte) []byte {
	k := make([]byte, MinKeySize)
	for i := range k {
		k[i] = seed*31 + byte(i)*7 + 1
	}
	return k
}

// newEpochs tracks a few of every kind's names.
func newEpochs(t testing.TB) *Epochs {
	var e Epochs
	require.NoError(t, e.Track(KindPage, pageBase, pages))
	require.NoError(t, e.Track(KindSlot, 0, slots))
	require.NoError(t, e.Track(KindEnv, 0, envs))
	require.NoError(t, e.Track(KindPort, portBase, 1<<16))
	return &e
}

func newAuthority(t testing.TB, key []byte) *Authority {
	a, err := NewAuthority(key, newEpochs(t))
	require.NoError(t, err)
	return a
}

func mint(t testing.TB, a *Authority, k Kind, lo, hi uint64, r Rights) Cap {
	c, err := a.Mint(k, lo, hi, r)
	require.NoError(t, err)
	return c
}

func derive(t testing.TB, c Cap, m Rights, lo, hi uint64) Cap {
	d, err := Derive(c, m, lo, hi)
	require.NoError(t, err)
	return d
}

// needAll asks for everything c effectively grants.
func needAll(c Cap) Need {
	r, lo, hi, _ := c.Effective()
	return Need{Kind: c.Kind(), Lo: lo, Hi: hi, Rights: r}
}

// forceRecord appends a derivation record to c the way a hostile holder
// could: with the correct chained MAC but none of Derive's checks.
func forceRecord(c Cap, m Rights, lo, hi uint64) Cap {
	n := c.Depth()
	prev := [TagSize]byte(c[offMAC:])
	rec := c[offRecords+n*recordSize : offRecords+(n+1)*recordSize]
	putRecord(rec, m, lo, hi)
	c[offCount] = byte(n + 1)
	tag := chain(&prev, rec, n+1)
	copy(c[offMAC:], tag[:])
	return c
}

// forgeries counts the capabilities the tests present that were not minted
// or derived legitimately (bit flips, other keys, altered records, random
// tags) and that Verify must refuse as malformed or forged.
var forgeries int

// requireRefused presents a forgery and requires Verify to refuse it as
// malformed or forged.
func requireRefused(t testing.TB, a *Authority, raw []byte, need Need, msgAndArgs ...any) error {
	t.Helper()
	forgeries++
	_, err := a.Verify(raw, need)
	if !errors.Is(err, ErrForged) && !errors.Is(err, ErrMalformed) {
		require.Fail(t, fmt.Sprintf("forgery not refused as forged or malformed: %v", err), msgAndArgs...)
	}
	return err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		fmt.Printf("caps: %d forgery attempts and %d hand-made widening records presented (exit %d)\n",
			forgeries, amplifications, code)
	}
	os.Exit(code)
}

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
