package dwmac

import "fmt"

// MDIO is the GMAC's MDIO (clause 22) master: MAC_MDIO_Address and
// MAC_MDIO_Data (U-Boot eqos_mdio_read / eqos_mdio_write; Linux
// stmmac_mdio_read_c22 / _write_c22). Each operation waits, bounded, for
// the busy bit GB to clear before and after. It has the methods phy.Bus
// names.
type MDIO struct {
	g *GMAC
}

// MDIO returns the GMAC's MDIO master. It works once New has returned
// (the MAC's clocks are on and its reset released).
func (g *GMAC) MDIO() MDIO { return MDIO{g} }

func (m MDIO) idle(op string, addr, reg int) error {
	var v uint32
	for i := 0; i < m.g.polls; i++ {
		if v = m.g.r(regMDIOAddress); v&mdioGB == 0 {
			return nil
		}
	}
	return fmt.Errorf("dwmac at %#x: MDIO %s of PHY %d register %d: busy bit still set after %d polls (MAC_MDIO_Address %#x)", m.g.base, op, addr, reg, m.g.polls, v)
}

func (m MDIO) check(addr, reg int) error {
	if addr < 0 || addr > 31 || reg < 0 || reg > 31 {
		return fmt.Errorf("dwmac at %#x: MDIO address %d register %d out of range 0..31", m.g.base, addr, reg)
	}
	return nil
}

func (m MDIO) command(addr, reg int, goc uint32) uint32 {
	return uint32(addr)<<mdioPAShift | uint32(reg)<<mdioRDAShift | m.g.cr<<mdioCRShift | goc<<mdioGOCShift | mdioGB
}

// Read returns PHY addr's register reg.
func (m MDIO) Read(addr, reg int) (uint16, error) {
	if err := m.check(addr, reg); err != nil {
		return 0, err
	}
	if err := m.idle("read", addr, reg); err != nil {
		return 0, err
	}
	m.g.w(regMDIOAddress, m.command(addr, reg, mdioGOCRead))
	if err := m.idle("read", addr, reg); err != nil {
		return 0, err
	}
	return uint16(m.g.r(regMDIOData)), nil
}

// Write sets PHY addr's register reg to v.
func (m MDIO) Write(addr, reg int, v uint16) error {
	if err := m.check(addr, reg); err != nil {
		return err
	}
	if err := m.idle("write", addr, reg); err != nil {
		return err
	}
	m.g.w(regMDIOData, uint32(v))
	m.g.w(regMDIOAddress, m.command(addr, reg, mdioGOCWrite))
	return m.idle("write", addr, reg)
}
