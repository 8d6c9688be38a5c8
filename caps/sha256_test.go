package caps

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The package's own SHA-256 and HMAC agree with the standard library's on
// every message length across the padding boundaries and beyond, and with
// the FIPS 180-4 example.
func TestSHA256(t *testing.T) {
	abc := sha256Finish(sha256Init, 0, []byte("abc"))
	require.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex.EncodeToString(abc[:]))
	rng := rand.New(rand.NewPCG(1, 2))
	msg := make([]byte, 300)
	for i := range msg {
		msg[i] = byte(rng.Uint32())
	}
	for n := 0; n <= len(msg); n++ {
		require.Equal(t, sha256.Sum256(msg[:n]), sha256Finish(sha256Init, 0, msg[:n]), "length %d", n)
	}
	// Resuming from a state that absorbed whole blocks.
	h := sha256Init
	sha256Compress(&h, msg[:128])
	require.Equal(t, sha256.Sum256(msg[:250]), sha256Finish(h, 128, msg[128:250]))
}

func TestHMAC(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, keyLen := range []int{1, 16, 32, 63, 64} {
		key := make([]byte, keyLen)
		for i := range key {
			key[i] = byte(rng.Uint32())
		}
		pads := newHMACPads(key)
		for _, n := range []int{0, 1, 25, 32, 55, 56, 64, 100} {
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(rng.Uint32())
			}
			m := hmac.New(sha256.New, key)
			m.Write(msg)
			got := pads.sum(msg)
			require.Equal(t, m.Sum(nil), got[:], "key %d bytes, message %d", keyLen, n)
		}
	}
}

func TestConstantTimeEqual(t *testing.T) {
	require.True(t, constantTimeEqual([]byte{1, 2}, []byte{1, 2}))
	require.False(t, constantTimeEqual([]byte{1, 2}, []byte{1, 3}))
	require.False(t, constantTimeEqual([]byte{1, 2}, []byte{1}))
	require.True(t, constantTimeEqual(nil, []byte{}))
}
