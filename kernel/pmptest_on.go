//go:build exo_pmptest

package kernel

// pmpTest makes this a test-only kernel (build tag exo_pmptest, built by
// make test for TestPMPRefusesKernelPage) with one deliberate hole in
// every address space: the first page of the kernel's own memory is mapped
// at abi.PMPTestVA, readable, writable and executable, so that a test can
// check that PMP, not the page table, keeps User mode out of the kernel.
// It announces itself at boot; never boot it otherwise.
const pmpTest = true
