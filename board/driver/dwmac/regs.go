package dwmac

// Register offsets from the GMAC's base and the bits the driver uses.
// Sources: U-Boot drivers/net/dwc_eth_qos.h (struct eqos_mac_regs,
// eqos_mtl_regs, eqos_dma_regs and their EQOS_* bits) and Linux
// drivers/net/ethernet/stmicro/stmmac/dwmac4.h and dwmac4_dma.h (GMAC_*,
// MTL_*, DMA_CHAN_*). FACTS.md records what was checked.
const (
	// MAC block (0x000).
	regMACConfig    = 0x000 // MAC_Configuration
	regPacketFilter = 0x008 // MAC_Packet_Filter
	regRxQCtrl0     = 0x0a0 // MAC_RxQ_Ctrl0
	regRxQCtrl1     = 0x0a4 // MAC_RxQ_Ctrl1
	regMACIntStatus = 0x0b0 // MAC_Interrupt_Status
	regMACIntEnable = 0x0b4 // MAC_Interrupt_Enable
	regUsTicCounter = 0x0dc // MAC_1US_Tic_Counter
	regPHYIFStatus  = 0x0f8 // MAC_PHYIF_Control_Status
	regHWFeature1   = 0x120 // MAC_HW_Feature1
	regMDIOAddress  = 0x200 // MAC_MDIO_Address
	regMDIOData     = 0x204 // MAC_MDIO_Data
	regAddr0High    = 0x300 // MAC_Address0_High
	regAddr0Low     = 0x304 // MAC_Address0_Low

	// MTL block (0xd00), queue 0.
	regTxQ0OpMode = 0xd00 // MTL_TxQ0_Operation_Mode
	regRxQ0OpMode = 0xd30 // MTL_RxQ0_Operation_Mode

	// DMA block (0x1000), channel 0 at 0x1100.
	regDMAMode       = 0x1000 // DMA_Mode
	regDMASysBusMode = 0x1004 // DMA_SysBus_Mode
	regCh0Control    = 0x1100 // DMA_CH0_Control
	regCh0TxControl  = 0x1104 // DMA_CH0_Tx_Control
	regCh0RxControl  = 0x1108 // DMA_CH0_Rx_Control
	regCh0TxBaseHi   = 0x1110 // DMA_CH0_TxDesc_List_HAddress
	regCh0TxBaseLo   = 0x1114 // DMA_CH0_TxDesc_List_Address
	regCh0RxBaseHi   = 0x1118 // DMA_CH0_RxDesc_List_HAddress
	regCh0RxBaseLo   = 0x111c // DMA_CH0_RxDesc_List_Address
	regCh0TxTail     = 0x1120 // DMA_CH0_TxDesc_Tail_Pointer
	regCh0RxTail     = 0x1128 // DMA_CH0_RxDesc_Tail_Pointer
	regCh0TxRingLen  = 0x112c // DMA_CH0_TxDesc_Ring_Length
	regCh0RxRingLen  = 0x1130 // DMA_CH0_RxDesc_Ring_Length
	regCh0IntEnable  = 0x1134 // DMA_CH0_Interrupt_Enable
	regCh0Status     = 0x1160 // DMA_CH0_Status
)

// MAC_Configuration bits (EQOS_MAC_CONFIGURATION_*, GMAC_CONFIG_*).
const (
	macConfigRE     = 1 << 0
	macConfigTE     = 1 << 1
	macConfigDM     = 1 << 13 // full duplex
	macConfigFES    = 1 << 14 // 100 Mbit/s when PS is set
	macConfigPS     = 1 << 15 // MII port (10/100); clear = GMII (1000)
	macConfigJE     = 1 << 16
	macConfigJD     = 1 << 17
	macConfigWD     = 1 << 19
	macConfigACS    = 1 << 20 // strip pad and FCS of length frames
	macConfigCST    = 1 << 21 // strip FCS of type frames
	macConfigGPSLCE = 1 << 23
)

// Other MAC bits.
const (
	packetFilterPR   = 1 << 0 // promiscuous
	packetFilterPM   = 1 << 4 // pass all multicast
	rxQCtrl0DCB      = 2      // RXQ0EN = enabled for DCB/generic (eqos_jh7110_config.config_mac)
	rxQCtrl1MCBCQEN  = 1 << 20
	macIntRGSMIIIS   = 1 << 0  // RGMII/SMII link status changed (GMAC_INT_RGSMIIS)
	phyifLNKMOD      = 1 << 16 // full duplex
	phyifSpeedShift  = 17      // 2 bits: 0 = 2.5 MHz, 1 = 25 MHz, 2 = 125 MHz
	phyifLNKSTS      = 1 << 19 // link up
	hwFeature1TxFIFO = 6       // TXFIFOSIZE shift, 5 bits, log2(bytes/128)
	hwFeature1RxFIFO = 0
)

// MDIO bits (EQOS_MAC_MDIO_ADDRESS_*).
const (
	mdioGB       = 1 << 0
	mdioGOCShift = 2
	mdioGOCWrite = 1
	mdioGOCRead  = 3
	mdioCRShift  = 8
	mdioRDAShift = 16
	mdioPAShift  = 21
	// MDIOClockRange250To300 is the CSR clock range field for a 250-300
	// MHz CSR clock, the JH7110's (eqos_jh7110_config.config_mac_mdio =
	// EQOS_MAC_MDIO_ADDRESS_CR_250_300).
	MDIOClockRange250To300 = 5
)

// MTL bits (EQOS_MTL_*_OPERATION_MODE_*, MTL_OP_MODE_*).
const (
	txqOpTSF       = 1 << 1
	txqOpTXQEN     = 2 << 2
	txqOpTQSShift  = 16
	txqOpTQSMask   = 0x1ff // bits 24:16
	rxqOpRSF       = 1 << 5
	rxqOpRQSShift  = 20
	rxqOpRQSMask   = 0x3ff // bits 29:20
	fifoSizeMaxLog = 10    // 128 KiB, the largest TQS/RQS can describe
)

// DMA bits (EQOS_DMA_*, DMA_*).
const (
	dmaModeSWR       = 1 << 0
	dmaModeDCHE      = 1 << 19 // Linux dwmac-starfive.c sets dma_cfg->dche
	sysBusBLEN4      = 1 << 1
	sysBusBLEN8      = 1 << 2
	sysBusBLEN16     = 1 << 3
	sysBusEAME       = 1 << 11
	sysBusRdOSRShift = 16
	chTxST           = 1 << 0
	chTxOSP          = 1 << 4
	chPBLShift       = 16 // TXPBL / RXPBL, bits 21:16
	chRxSR           = 1 << 0
	chRxRBSZShift    = 1 // bits 14:1 hold the buffer size in bytes
	intEnableTIE     = 1 << 0
	intEnableRIE     = 1 << 6
	intEnableFBEE    = 1 << 12
	intEnableAIE     = 1 << 14 // DMA_CHAN_INTR_ENA_AIE_4_10 (4.00: bit 15)
	intEnableNIE     = 1 << 15 // DMA_CHAN_INTR_ENA_NIE_4_10 (4.00: bit 16)
	statusTI         = 1 << 0
	statusRI         = 1 << 6
	statusRBU        = 1 << 7
	statusFBE        = 1 << 12
	statusAIS        = 1 << 14
	statusNIS        = 1 << 15
)

// Descriptor bits (Linux dwmac4_descs.h; U-Boot EQOS_DESC3_*). Normal
// descriptors are four little-endian 32-bit words.
const (
	desc3OWN     = 1 << 31
	desc3CTXT    = 1 << 30 // write-back: context descriptor
	desc3IOC     = 1 << 30 // RX read format: interrupt on completion
	desc3FD      = 1 << 29
	desc3LD      = 1 << 28
	desc3BUF1V   = 1 << 24 // RX read format
	desc3ES      = 1 << 15 // write-back: error summary
	desc3LenMask = 0x7fff  // RX write-back packet length; TX frame length
	tdes2B1LMask = 0x3fff  // TX buffer 1 length
	descSize     = 16
)
