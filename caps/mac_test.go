package caps

import (
	"crypto/hmac"
	"crypto/sha256"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// hmacTrunc is the reference: crypto/hmac, truncated.
func hmacTrunc(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)[:TagSize]
}

// TestChainIsHMAC checks the hand-written HMAC of a chain step against
// crypto/hmac, for random tags and records at every index.
func TestChainIsHMAC(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := range 1000 {
		var prev [TagSize]byte
		rec := make([]byte, recordSize)
		rng.Read(prev[:])
		rng.Read(rec)
		i := 1 + n%MaxRecords
		got := chain(&prev, rec, i)
		require.Equal(t, hmacTrunc(prev[:], append(rec, byte(i))), got[:])
	}
}

// TestRootIsHMAC checks tag_0 against crypto/hmac over the header with the
// count byte zero, and the whole chain against a step-by-step reference.
func TestRootIsHMAC(t *testing.T) {
	a := newAuthority(t, testKey)
	c := mint(t, a, KindEnv, 7, 9, EnvSend|EnvControl)
	hdr := append([]byte(nil), c[:headerSize]...)
	require.Equal(t, hmacTrunc(testKey, hdr), c[offMAC:])

	tag := hmacTrunc(testKey, hdr)
	for i := range MaxRecords {
		c = derive(t, c, EnvSend, 8, 8)
		require.Equal(t, byte(i+1), c[offCount])
		rec := c[offRecords+i*recordSize : offRecords+(i+1)*recordSize]
		tag = hmacTrunc(tag, append(append([]byte(nil), rec...), byte(i+1)))
		require.Equal(t, tag, c[offMAC:], "after record %d", i+1)
	}
}
