package dwmac

import (
	"github.com/exo-os/exo/board/driver/phy"
	"github.com/exo-os/exo/board/starfive/jh7110"
)

// The pieces fit together as the board will wire them.
var (
	_ Platform = (*jh7110.GMACPlatform)(nil)
	_ phy.Bus  = MDIO{}
)
