package ash

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// udpPortFilter accepts IPv4 UDP packets to port (any IP header length).
func udpPortFilter(port int32) *Builder {
	b := NewBuilder()
	b.LoadPacketPointers(R6, R7)
	b.LoadPacket(R0, SizeH, 12, "reject")
	b.JumpIf(JumpNE, R0, 0x0800, "reject")
	b.LoadPacket(R0, SizeB, 23, "reject")
	b.JumpIf(JumpNE, R0, 17, "reject")
	b.LoadPacket(R0, SizeH, 20, "reject") // fragment offset must be 0
	b.JumpIf(JumpSet, R0, 0x1fff, "reject")
	b.LoadPacket(R2, SizeB, 14, "reject") // IHL
	b.ALU(ALUAnd, R2, 0x0f)
	b.ALU(ALULsh, R2, 2)
	b.ALUReg(ALUAdd, R2, R6) // r2 = data + ihl*4 (variable packet pointer)
	b.MovReg(R3, R2)
	b.ALU(ALUAdd, R3, 14+4)
	b.JumpIfReg(JumpGT, R3, R7, "reject")
	b.Load(SizeH, R0, R2, 14+2) // destination port
	b.ToBE(R0, 16)
	b.JumpIf(JumpNE, R0, port, "reject")
	b.Return(1)
	b.Label("reject")
	b.Return(0)
	return b
}

func TestBuilderUDPFilter(t *testing.T) {
	p, err := udpPortFilter(53).Program(Config{Type: TypeFilter})
	require.NoError(t, err)
	m := NewMachine()
	for _, tc := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"dns", udpFrame(53, 0), true},
		{"dns with options", udpFrame(53, 8), true},
		{"other port", udpFrame(54, 0), false},
		{"truncated", udpFrame(53, 0)[:36], false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := m.Filter(p, tc.pkt)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ok)
		})
	}
}

func TestBuilderErrors(t *testing.T) {
	_, err := NewBuilder().Jump("nowhere").Build()
	assert.ErrorContains(t, err, `undefined label "nowhere"`)
	_, err = NewBuilder().Label("a").Label("a").Build()
	assert.ErrorContains(t, err, "defined twice")
	_, err = NewBuilder().LoadPacket(R0, SizeB, 0, "x").Build()
	assert.ErrorContains(t, err, "before LoadPacketPointers")
}
