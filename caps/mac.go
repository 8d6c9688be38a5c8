package caps

// The MAC chain, after macaroons (Birgisson et al., "Macaroons: Cookies with
// Contextual Caveats for Decentralized Authorization in the Cloud", NDSS
// 2014, §II and §V): each derivation record is sealed with a key that is the
// tag before it, so anyone holding a capability can add a record, and no one
// without the kernel key can take one away.
//
//	tag_0 = Trunc(HMAC-SHA256(kernel key, header with the count byte zero))
//	tag_i = Trunc(HMAC-SHA256(tag_{i-1}, record i's 24 bytes || byte i))
//
// and the MAC field holds tag_n for n records. The header covers version,
// kind, rights, range and epoch exactly as Mint wrote them; the count is left
// out of it because deriving changes it, and the chain authenticates it: a
// shorter chain needs a tag only an earlier holder had, and a longer one is a
// derivation anyone may make. The record's index is in its message as well,
// which costs nothing and pins each record to its place.
//
// Trunc keeps the first 128 bits. RFC 2104 §5 recommends keeping at least half
// the hash's output (the birthday bound) and at least 80 bits. A forger
// cannot test guesses offline (the key never leaves the kernel), so each
// guess is one system call with odds of 2^-128. 128 bits is also the strength
// of the chained keys (tag_i keys the next HMAC), and it keeps a capability
// at 144 bytes.

// sealer computes tag_0 under the kernel key. It keeps the SHA-256 states
// after the key's inner and outer pad blocks (sha256.go), so a tag costs two
// compressions and no allocation. Not safe for concurrent use.
type sealer struct {
	pads hmacPads
	msg  [headerSize]byte
}

func newSealer(key []byte) *sealer { return &sealer{pads: newHMACPads(key)} }

// root returns tag_0 for the capability c.
func (s *sealer) root(c *Cap) [TagSize]byte {
	copy(s.msg[:], c[:headerSize])
	s.msg[offCount] = 0
	sum := s.pads.sum(s.msg[:])
	return [TagSize]byte(sum[:TagSize])
}

// chain returns tag_i, for i = 1..MaxRecords, from tag_{i-1} and the record:
// an HMAC keyed by the previous tag, over the record and its index.
func chain(prev *[TagSize]byte, rec []byte, i int) [TagSize]byte {
	var msg [recordSize + 1]byte
	copy(msg[:], rec[:recordSize])
	msg[recordSize] = byte(i)
	pads := newHMACPads(prev[:])
	sum := pads.sum(msg[:])
	return [TagSize]byte(sum[:TagSize])
}

// tail runs the chain from tag_0 over c's records and returns tag_n.
func tail(tag [TagSize]byte, c *Cap) [TagSize]byte {
	for i := range c.Depth() {
		off := offRecords + i*recordSize
		tag = chain(&tag, c[off:off+recordSize], i+1)
	}
	return tag
}
