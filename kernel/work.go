package kernel

import "github.com/exo-os/exo/caps"

// Kernel work in bounded steps. The kernel runs with interrupts masked, so
// nothing it does may take time proportional to what an environment asks
// for: filling a new environment's memory, revoking a range of pages,
// taking an environment's resources back. Such work is an environment's
// job: the kernel does it one step at a time (each a small constant:
// jobSteps bounds what a step touches), in that environment's own slots,
// and looks for a due interrupt between steps: a device is served at once,
// a timer tick ends the slot, and the job goes on at the environment's
// next slot. A system call with a job returns when its job is done.
//
// Jobs:
//
//	build     an environment's construction (build.go), in its own slots
//	teardown  its end (teardown.go), in its own slots
//	revoke    SysRevoke (revoke.go), in the caller's slots
//	netbind   SysNetBind's verification of its programs (netcalls.go)
//	pred      SysPredWait's verification of its predicate (predicate.go)

type jobKind uint8

const (
	jobNone jobKind = iota
	jobBuild
	jobTeardown
	jobRevoke
	jobNetBind
	jobPred
)

// job is an environment's kernel work in progress.
type job struct {
	kind   jobKind
	phase  uint8
	cursor uint64 // position within the phase
	run    int    // the run a phase that walks runs is in

	// revoke: what, and where the fresh capability goes; the epoch it
	// is stamped with; whether some of the names changed hands meanwhile.
	names   names
	rights  caps.Rights
	lo, hi  uint64
	out     uint64
	stamp   uint64
	tainted bool

	// netbind: the request and its verifications.
	bind *netBind
}

// Step sizes: each is the most one step does of its kind of work.
const (
	stepPages   = 16   // pages zeroed and filled
	stepEpochs  = 4096 // names whose epoch is bumped
	stepFrames  = 512  // frames freed or reset
	stepKernelZ = 16   // kernel frames zeroed
	// stepVerify is the instructions a bound program's verification
	// explores a step: about 3,500 machine instructions each at worst
	// (a join where many explored states must be compared), measured by
	// testenv verifybomb under -icount.
	stepVerify = 16
)

// work does e's job in bounded steps until it is done, or a timer
// interrupt is due (the slot is over; the job goes on in e's next one).
// Device interrupts are served between steps.
func (k *Kernel) work(e *Env) outcome {
	for e.job.kind != jobNone {
		if p := k.plat.Pending(); p != 0 {
			if p&PendingDevice != 0 {
				k.interrupt()
			}
			if p&PendingTimer != 0 {
				e.Preemptions++
				return preempted
			}
		}
		e.Steps++
		t0 := k.plat.Now()
		var done bool
		switch e.job.kind {
		case jobBuild:
			done = k.buildStep(e)
		case jobTeardown:
			done = k.teardownStep(e)
		case jobRevoke:
			done = k.revokeStep(e)
		case jobNetBind:
			done = k.netBindStep(e)
		case jobPred:
			done = k.predStep(e)
		}
		k.MaxStep = max(k.MaxStep, k.plat.Now()-t0)
		if done {
			kind := e.job.kind
			e.job = job{}
			switch {
			case kind == jobTeardown:
				return finished
			case e.finished():
				// It ended while its revocation ran; its teardown
				// waited for the revocation to finish.
				e.job = job{kind: jobTeardown, phase: tRecords}
			}
		}
	}
	return resume
}
