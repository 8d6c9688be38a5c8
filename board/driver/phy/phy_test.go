package phy

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// phyModel is an MDIO model of one Motorcomm PHY: clause 22 registers, the
// extended registers behind 0x1e/0x1f, a soft reset that clears after a
// few reads (or never), and a link the test sets.
type phyModel struct {
	addr     int
	regs     [32]uint16
	ext      map[uint16]uint16
	extLog   []uint16 // extended registers written, in order
	resetFor int      // reads of BMCR until reset clears; -1: never
	fail     bool
}

func newPHY(addr int, id uint32) *phyModel {
	m := &phyModel{addr: addr, ext: map[uint16]uint16{}, resetFor: 2}
	m.regs[regID1], m.regs[regID2] = uint16(id>>16), uint16(id)
	m.ext[extChipConfig] = 2 << ccrLDOShift // 1.8 V pads
	m.ext[extRGMIIConfig1] = 0x00f0 | 0xd<<rc1RxDelayShift | 0xd
	return m
}

func (m *phyModel) setLink(up bool, speedCode uint16, full bool) {
	m.regs[regBMSR] = 0x7949
	if up {
		m.regs[regBMSR] |= bmsrLink | bmsrANDone
	}
	m.regs[regSpecStatus] = speedCode << specSpeedShift
	if full {
		m.regs[regSpecStatus] |= specDuplex
	}
}

var errBus = errors.New("bus fault")

func (m *phyModel) Read(addr, reg int) (uint16, error) {
	if m.fail {
		return 0, errBus
	}
	if addr != m.addr {
		return 0xffff, nil // nobody there: the bus floats high
	}
	switch reg {
	case regBMCR:
		if m.regs[regBMCR]&bmcrReset != 0 && m.resetFor >= 0 {
			if m.resetFor == 0 {
				m.regs[regBMCR] &^= bmcrReset
			} else {
				m.resetFor--
			}
		}
	case regExtData:
		return m.ext[m.regs[regExtAddr]], nil
	}
	return m.regs[reg], nil
}

func (m *phyModel) Write(addr, reg int, v uint16) error {
	if m.fail {
		return errBus
	}
	if addr != m.addr {
		return nil
	}
	if reg == regExtData {
		a := m.regs[regExtAddr]
		m.ext[a] = v
		m.extLog = append(m.extLog, a)
		return nil
	}
	m.regs[reg] = v
	return nil
}

func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name  string
		id    uint32
		opts  Options
		model Model
		err   string
	}{
		{"yt8531", IDYT8531, VF2v13BPHY0, YT8531, ""},
		{"yt8512b", IDYT8512B, VF2v12APHY1, YT8512B, ""},
		{"unknown", 0x001cc916, VF2v13BPHY0, 0, "unknown PHY id 0x001cc916"},
		{"yt8531 on rmii", IDYT8531, VF2v12APHY1, 0, "board says RMII"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Probe(newPHY(0, tc.id), 0, tc.opts)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.model, p.Model())
			require.Equal(t, tc.id, p.ID())
			require.Contains(t, p.String(), "at MDIO address 0")
		})
	}
	_, err := Probe(newPHY(0, IDYT8531), 1, VF2v13BPHY0)
	require.ErrorContains(t, err, "nothing answers (id registers read 0xffffffff)")
	m := newPHY(0, IDYT8531)
	m.fail = true
	_, err = Probe(m, 0, VF2v13BPHY0)
	require.ErrorIs(t, err, errBus)
}

func TestDelayCode(t *testing.T) {
	for _, tc := range []struct {
		ps   int
		rx   bool
		code uint16
		rxc  bool
		err  bool
	}{
		{0, false, 0, false, false},
		{1500, true, 10, false, false}, // v1.3B phy0
		{300, true, 2, false, false},   // v1.3B phy1
		{1350, false, 9, false, false}, // v1.2A phy0 tx
		{1900, true, 0, true, false},   // v1.2A phy0 rx: the 1.9 ns RXC delay
		{1950, true, 13, false, false}, // a multiple of 150 takes the plain form
		{4150, true, 15, true, false},
		{1900, false, 0, false, true}, // transmit has no 1.9 ns form
		{2400, true, 0, false, true},
		{-150, false, 0, false, true},
	} {
		code, rxc, err := DelayCode(tc.ps, tc.rx)
		if tc.err {
			require.Error(t, err, "%d ps", tc.ps)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.code, code, "%d ps", tc.ps)
		require.Equal(t, tc.rxc, rxc, "%d ps", tc.ps)
	}
}

// TestConfigureYT8531 checks the v1.3B phy0 set-up against U-Boot's
// yt8531_config: no clock out, RX/TX delay codes 10/10 without the RXC
// delay, drive strength 6 (3970 µA) and 3 (2910 µA) at 1.8 V, then
// autonegotiation with gigabit advertised.
func TestConfigureYT8531(t *testing.T) {
	m := newPHY(0, IDYT8531)
	m.ext[extChipConfig] |= ccrRXCDelayEn
	m.ext[extSyncE] = synceEnable
	p, err := Probe(m, 0, VF2v13BPHY0)
	require.NoError(t, err)
	require.NoError(t, p.Configure())
	require.Zero(t, m.ext[extSyncE])
	require.Zero(t, m.ext[extChipConfig]&ccrRXCDelayEn)
	require.Equal(t, uint16(0x00f0|10<<rc1RxDelayShift|10), m.ext[extRGMIIConfig1]) // FE TX delay untouched
	require.Equal(t, uint16(6<<padRXCShift|3<<padRXDLoShift), m.ext[extPadDrive])
	require.Equal(t, []uint16{extSyncE, extChipConfig, extRGMIIConfig1, extPadDrive, extPadDrive}, m.extLog)
	require.Equal(t, uint16(anar10_100), m.regs[regANAR])
	require.Equal(t, uint16(gbcr1000), m.regs[regGBCR])
	require.Equal(t, uint16(bmcrANEN|bmcrRestart), m.regs[regBMCR])

	// The v1.2A's 1900 ps receive delay turns the RXC delay on.
	m = newPHY(0, IDYT8531)
	p, err = Probe(m, 0, VF2v12APHY0)
	require.NoError(t, err)
	require.NoError(t, p.Configure())
	require.Equal(t, uint16(ccrRXCDelayEn), m.ext[extChipConfig]&ccrRXCDelayEn)
	require.Equal(t, uint16(0x00f0|0<<rc1RxDelayShift|9), m.ext[extRGMIIConfig1])
	require.Equal(t, uint16(3<<padRXCShift|3<<padRXDLoShift), m.ext[extPadDrive]) // defaults

	// Bad options and a PHY stuck in reset are errors, bounded.
	m = newPHY(0, IDYT8531)
	p, _ = Probe(m, 0, Options{Interface: RGMIIID, RxDelayPs: 1234})
	require.ErrorContains(t, p.Configure(), "rx-internal-delay-ps")
	m = newPHY(0, IDYT8531)
	m.ext[extChipConfig] = 0 // 3.3 V: 3970 µA is no setting there
	p, _ = Probe(m, 0, VF2v13BPHY0)
	require.ErrorContains(t, p.Configure(), "3970")
	m = newPHY(0, IDYT8531)
	m.resetFor = -1
	p, _ = Probe(m, 0, VF2v13BPHY0)
	p.Polls = 30
	require.ErrorContains(t, p.Configure(), "did not leave reset")
}

func TestConfigureYT8512B(t *testing.T) {
	m := newPHY(0, IDYT8512B)
	m.ext[yt8512Sleep1] = 0xffff
	p, err := Probe(m, 0, VF2v12APHY1)
	require.NoError(t, err)
	require.NoError(t, p.Configure())
	require.Equal(t, uint16(0x7fff), m.ext[yt8512Sleep1])
	require.Zero(t, m.regs[regGBCR], "a 100 Mbit PHY advertised gigabit")
	require.Equal(t, uint16(bmcrANEN|bmcrRestart), m.regs[regBMCR])
}

// TestPollYT8531 runs the link through speeds and checks the transmit
// clock inversion U-Boot's yt8531_startup applies for the v1.3B phy0
// (inverted at 100 and 1000, not at 10), written only when the speed
// changes.
func TestPollYT8531(t *testing.T) {
	m := newPHY(0, IDYT8531)
	p, err := Probe(m, 0, VF2v13BPHY0)
	require.NoError(t, err)
	require.NoError(t, p.Configure())
	m.setLink(false, 0, false)
	l, err := p.Poll()
	require.NoError(t, err)
	require.Equal(t, "link down", l.String())

	for _, tc := range []struct {
		code   uint16
		full   bool
		want   Link
		invert bool
	}{
		{2, true, Link{true, 1000, true}, true},
		{1, true, Link{true, 100, true}, true},
		{0, false, Link{true, 10, false}, false},
	} {
		m.setLink(true, tc.code, tc.full)
		m.extLog = nil
		l, err := p.Poll()
		require.NoError(t, err)
		require.Equal(t, tc.want, l)
		require.Equal(t, tc.invert, m.ext[extRGMIIConfig1]&rc1TxClkInvert != 0, l.String())
		require.Equal(t, []uint16{extRGMIIConfig1}, m.extLog)
		m.extLog = nil
		_, err = p.Poll()
		require.NoError(t, err)
		require.Empty(t, m.extLog, "inversion rewritten without a speed change")
	}
	require.Equal(t, "link up 10 Mbit/s half duplex", Link{true, 10, false}.String())
	require.Equal(t, "link up 1000 Mbit/s full duplex", Link{true, 1000, true}.String())
}

func TestPollYT8512B(t *testing.T) {
	m := newPHY(0, IDYT8512B)
	p, err := Probe(m, 0, VF2v12APHY1)
	require.NoError(t, err)
	m.setLink(true, 1, true)
	l, err := p.Poll()
	require.NoError(t, err)
	require.Equal(t, Link{true, 100, true}, l)
	require.Empty(t, m.extLog)
	m.setLink(true, 2, true)
	_, err = p.Poll()
	require.ErrorContains(t, err, "cannot do")
	m.setLink(true, 3, true)
	_, err = p.Poll()
	require.ErrorContains(t, err, "reserved speed")
	// Up but autonegotiation not complete: down.
	m.setLink(true, 1, true)
	m.regs[regBMSR] &^= bmsrANDone
	l, err = p.Poll()
	require.NoError(t, err)
	require.False(t, l.Up)
}
