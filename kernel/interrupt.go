package kernel

// Device interrupts. The PLIC's external interrupt is taken in Machine
// mode while any environment runs (and wakes the idle loop's wfi); the
// kernel claims each pending source, runs its driver's handler, completes
// it, and then does its own part: takes received frames from the NIC
// through the network path (net.go: filters, handlers, rings), drains the
// console into the serial line and tops up the entropy pool. Environments waiting on either find it
// done when their slot comes up (ready).

// maxClaims bounds the interrupts one pass serves, so that a device that
// never stops interrupting cannot hold the kernel: whatever is still
// pending traps again as soon as an environment runs.
const maxClaims = 16

// interrupt serves the pending device interrupts.
func (k *Kernel) interrupt() {
	if k.irq != nil {
		for n := 0; n < maxClaims; n++ {
			irq := k.irq.Claim()
			if irq == 0 {
				break
			}
			served := false
			for i := range k.devs {
				if k.devs[i].IRQ == irq {
					k.devs[i].Handle()
					served = true
					break
				}
			}
			if served {
				k.Interrupts++
			} else {
				k.Spurious++
			}
			k.irq.Complete(irq)
		}
	}
	k.netReceive()
	k.con.drain()
	k.fillEntropy()
}
