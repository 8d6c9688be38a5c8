# Exo: build, boot and test. `make run` and `make test` are the two
# commands a user types; docs/BUILD.md describes every target.

BOARD    ?= qemu-virt
BUILD    := build
GO       ?= go
TAMAGO   := $(BUILD)/tamago
TARGET   := GOOS=tamago GOARCH=riscv64 GOOSPKG=github.com/usbarmory/tamago
ENVS     := hello counter testenv echo httpd ghttpd
# Environment images are linked at abi.TextStart (kernel/abi/layout.go).
ENV_LDFLAGS := -T 0x1010000 -R 0x1000

ifeq ($(BOARD),qemu-virt)
KERNEL_LDFLAGS := -T 0x80010000 -R 0x1000
else ifeq ($(BOARD),visionfive2)
# The VisionFive 2 image carries the environments its demo manifest runs
# (firmware/visionfive2/demo.manifest): the demo's and echo, which answers
# ping. They are packed together (VF2_ENVPACK below), which is what lets
# them fit StarFive's 4 MiB payload partition with the kernel
# (docs/BOARDS.md, "Image size").
ENVS := hello counter echo
# File names in the images' line tables without the build directory:
# smaller, and the same whoever builds them.
ENV_FLAGS := -trimpath
# Text one page above the DRAM base, so that the first loadable segment
# starts at 0x40000000, where U-Boot SPL copies the payload
# (visionfive2.LinkAddress). linkcpuinit: the first instruction is
# board/harts' entry, which parks every hart but one before Go runs.
KERNEL_LDFLAGS := -T 0x40001000 -R 0x1000
KERNEL_TAGS    := -tags linkcpuinit -trimpath
else
$(error unknown BOARD "$(BOARD)": known boards are qemu-virt and visionfive2)
endif

FIRMWARE := $(BUILD)/$(BOARD)/firmware.elf
# The measurement builds (make bench): BENCH answers the floor call in the
# trap vector (kernel/hart/floor_riscv64.s, tag exo_floor); UNCHECKED also
# skips capability checks on binding calls (kernel/capcheck.go), so that a
# checked binding can be shown next to an unchecked one. Both announce
# themselves at boot; never boot them otherwise.
BENCHFW   := $(BUILD)/$(BOARD)-bench/firmware.elf
# CALLTIME times every system call in the kernel (tag exo_calltime,
# kernel/measure_on.go), for the table of time with interrupts masked.
CALLTIME  := $(BUILD)/$(BOARD)-calltime/firmware.elf
UNCHECKED := $(BUILD)/$(BOARD)-unchecked/firmware.elf
# The PMP test kernel (tag exo_pmptest, kernel/pmptest_on.go): it maps the
# kernel's first page into every environment, for TestPMPRefusesKernelPage.
PMPTEST   := $(BUILD)/$(BOARD)-pmptest/firmware.elf
# FUZZTIME, if set, replaces fuzz-brief's per-target execution counts
# (tools/fuzzall): a count such as 100000x, or a duration for local runs.
FUZZTIME ?=

# The VisionFive 2 boot image (make image BOARD=visionfive2), named as
# StarFive names the payload it replaces, and the kernel it is made of.
VF2_ELF   := $(BUILD)/visionfive2/firmware.elf
VF2_IMAGE := $(BUILD)/visionfive2/visionfive2_fw_payload.img
VF2_ENVPACK := firmware/visionfive2/images/envs.pack
# firmware/harttest: the VisionFive 2 hart entry on QEMU sifive_u, linked
# one page above the load address its main.go names.
HARTTEST  := $(BUILD)/harttest.elf

ifeq ($(BOARD),visionfive2)
# The same environment images, without symbol tables and debug sections,
# packed into one archive in which each image copies what it shares with
# the ones before it (firmware/visionfive2/envpack, unpacked at boot), so
# that the image fits StarFive's 4 MiB partition.
install-images = rm -f firmware/$(BOARD)/images/*.elf.gz; for e in $(ENVS); do \
	riscv64-linux-gnu-strip -o $(BUILD)/envs/$$e.stripped $(BUILD)/envs/$$e.elf || exit 1; done; \
	$(GO) run ./tools/vf2image -pack $(VF2_ENVPACK) $(ENVS:%=$(BUILD)/envs/%.stripped)
else
# Stripped of symbol tables and debug sections (tracebacks still name
# functions: Go's own tables stay), so that the kernel's 64 MiB region
# holds the images with room for its heap; build/envs keeps the full ELFs
# for debuggers and tools.
install-images = for e in $(ENVS); do \
	riscv64-linux-gnu-strip -o firmware/$(BOARD)/images/$$e.elf $(BUILD)/envs/$$e.elf || exit 1; done
endif

# What the targets need from the system (Debian package names), and one
# command from each to check for.
APT_PKGS := qemu-system-misc u-boot-tools device-tree-compiler tcpdump clang llvm \
            binutils-riscv64-linux-gnu iproute2 iputils-ping fping curl apache2-utils
TOOLS    := qemu-system-riscv64 mkimage dumpimage dtc tcpdump clang llvm-objdump \
            riscv64-linux-gnu-objdump ip ping fping curl ab tc

.PHONY: all run test firmware envs deps toolchain vet test-host test-qemu fuzz \
        fuzz-brief bench bench-net bench-stack linux-guest compare test-compare clean image flash vf2 board-has-image board-is-qemu flash-has-dev FORCE

all: firmware

## run: build the firmware and boot it in QEMU with the demo environments
## (MANIFEST=file for another manifest; GDB=1 starts QEMU halted, waiting
## for gdb-multiarch, and prints the command that attaches it). NET=tap
## (as root: a tap in a private network namespace, removed on exit) or
## NET=user (no root: exoping is QEMU's NIC peer) boots the network demo
## (firmware/qemu-virt/net.manifest) and prints what to ping;
## CAPTURE=file.pcap records every frame (tcpdump -r file.pcap)
NET_MANIFEST := firmware/qemu-virt/net.manifest
run: board-is-qemu deps firmware
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) \
		$(if $(MANIFEST),-manifest $(MANIFEST),$(if $(NET),-manifest $(NET_MANIFEST))) \
		$(if $(NET),-net $(NET)) $(if $(CAPTURE),-capture $(CAPTURE)) $(if $(GDB),-gdb)

## test: every test: host, fuzz targets briefly, and QEMU boots; the
## VisionFive 2 image and the sifive_u hart test image are built for it
test: deps firmware $(PMPTEST) vf2 $(HARTTEST) vet
	EXO_REQUIRE_TOOLS=1 EXO_FIRMWARE=$(abspath $(FIRMWARE)) EXO_PMPTEST_FIRMWARE=$(abspath $(PMPTEST)) \
		EXO_VF2_IMAGE=$(abspath $(VF2_IMAGE)) EXO_VF2_ELF=$(abspath $(VF2_ELF)) \
		EXO_HARTTEST=$(abspath $(HARTTEST)) \
		$(GO) test -count=1 -timeout 45m ./...
	$(MAKE) --no-print-directory fuzz-brief

## vet: go vet for the host and for the TamaGo target
vet: $(TAMAGO)
	$(GO) vet ./...
	$(TARGET) $(TAMAGO) vet ./board/... ./kernel/... ./libos/... ./firmware/...
	$(TARGET) $(TAMAGO) vet -tags exo_unchecked_caps ./kernel/
	$(TARGET) $(TAMAGO) vet -tags exo_floor ./kernel/hart/
	$(TARGET) $(TAMAGO) vet -tags exo_pmptest ./kernel/
	$(TARGET) $(TAMAGO) vet -tags exo_calltime ./kernel/

## bench-net: the ASH paper's experiment: echo round trips by the handler
## in the kernel and by the environment's ring, against 0-16 busy
## environments; a table, and build/bench-net.{md,csv,png} (docs/NETWORK.md)
POLLECHO := $(BUILD)/pollecho.elf
bench-net: board-is-qemu deps firmware $(POLLECHO)
	$(GO) run ./tools/benchnet -firmware $(FIRMWARE) -floor $(POLLECHO) -out $(BUILD)/bench-net
	$(GO) test -run '^$$' -bench Demux -benchmem ./kernel/demux/

## bench-stack: the libOS network stacks side by side (Exo's and gVisor's
## in one QEMU): TCP throughput, HTTP rate and latency, UDP echo, memory per
## connection; build/bench-stack.{md,csv,png} (docs/LIBOS.md)
bench-stack: board-is-qemu deps firmware
	$(GO) run ./tools/benchstack -firmware $(FIRMWARE) -out $(BUILD)/bench-stack

## test-host: the host tests only (no QEMU, no external tools required)
test-host:
	$(GO) test ./...

## fuzz-brief: run every fuzz target for a fixed count of executions
## (about 10 s each here; FUZZTIME overrides)
fuzz-brief:
	$(GO) run ./tools/fuzzall $(if $(FUZZTIME),-fuzztime $(FUZZTIME))

## bench: trap-path figures from QEMU boots of the production kernel and
## the measurement builds (timed, then counted with -icount), exception
## dispatch, the ExOS virtual-memory and IPC tables, and the host benchmarks
bench: board-is-qemu deps firmware $(BENCHFW) $(UNCHECKED) $(CALLTIME)
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest tools/exorun/bench.manifest -timeout 5m
	$(GO) run ./tools/exorun -firmware $(BENCHFW) -manifest tools/exorun/bench.manifest -timeout 5m
	$(GO) run ./tools/exorun -firmware $(UNCHECKED) -manifest tools/exorun/bench.manifest -timeout 5m
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest tools/exorun/bench.manifest -timeout 5m -icount
	$(GO) run ./tools/exorun -firmware $(BENCHFW) -manifest tools/exorun/bench.manifest -timeout 5m -icount
	$(GO) run ./tools/exorun -firmware $(UNCHECKED) -manifest tools/exorun/bench.manifest -timeout 5m -icount
	$(GO) run ./tools/exorun -firmware $(CALLTIME) -manifest tools/exorun/storm.manifest -timeout 5m -icount | grep -v abcdefgh
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest tools/exorun/exc.manifest -timeout 5m
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest tools/exorun/exc.manifest -timeout 5m -icount
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest tools/exorun/vm.manifest -timeout 5m
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest tools/exorun/vm.manifest -timeout 5m -icount
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest firmware/envs/testenv/ipcbench.manifest -timeout 5m
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest firmware/envs/testenv/ipcbench.manifest -timeout 5m -icount
	$(GO) test -run '^$$' -bench . -benchmem ./caps/... ./ash/...

## linux-guest: the Linux 6.1 peer guest of make compare, cross-built from
## Debian's linux-source-6.1 (tinyconfig + linux/guest.config) with its
## init (linux/init, linux/measure.c) in a built-in initramfs, into
## build/linux/Image; rebuilt only when those change (the first build takes
## a while: about 3.5 minutes on 2 shared cores)
LINUX_DIR   := $(BUILD)/linux
LINUX_IMAGE := $(LINUX_DIR)/Image
LINUX_DEPS  := linux/build.sh linux/guest.config linux/measure.c $(wildcard linux/init/*.go linux/init/*.s) go.mod go.sum
linux-guest: $(LINUX_IMAGE)
$(LINUX_IMAGE): $(LINUX_DEPS)
	JOBS=2 GO=$(GO) linux/build.sh $(LINUX_DIR)

## compare: Exo against the Linux guest on the same QEMU, interleaved runs
## (RUNS=3): the trap-path table, the ping experiment, and
## build/compare.{md,csv,png} (docs/COMPARE.md)
RUNS ?= 3
compare: board-is-qemu deps firmware linux-guest
	$(GO) run ./tools/compare -firmware $(FIRMWARE) -linux $(LINUX_IMAGE) -runs $(RUNS) -out $(BUILD)/compare

## test-compare: build the Linux guest and run tools/compare's tests with
## it (the boot test skips in make test when the guest is not built; run
## this before changing the comparison code)
test-compare: linux-guest
	CGO_ENABLED=0 GOOS=linux GOARCH=riscv64 $(GO) vet ./linux/init
	EXO_LINUX_IMAGE=$(abspath $(LINUX_IMAGE)) $(GO) test -count=1 -v ./tools/compare/

firmware: $(FIRMWARE)

# The Go build cache decides what to rebuild; FORCE makes make ask it.
$(BUILD)/envs/%.elf: FORCE | $(TAMAGO)
	@mkdir -p $(dir $@)
	$(TARGET) $(TAMAGO) build $(ENV_FLAGS) -ldflags "$(ENV_LDFLAGS)" -o $@ ./firmware/envs/$*

envs: $(ENVS:%=$(BUILD)/envs/%.elf)

# ghttpd is httpd built over gVisor's netstack, the second library OS
# (libos/net/attach, tag gvisor).
$(BUILD)/envs/ghttpd.elf: FORCE | $(TAMAGO)
	@mkdir -p $(dir $@)
	$(TARGET) $(TAMAGO) build -tags gvisor $(ENV_FLAGS) -ldflags "$(ENV_LDFLAGS)" -o $@ ./firmware/envs/httpd

# The echo environment embeds the ICMP echo handler written in C, built by
# clang as eBPF (docs/BYTECODE.md).
ECHO_BPF := firmware/envs/echo/icmp_echo.bpf.o
$(ECHO_BPF): ash/testdata/c/icmp_echo.c ash/testdata/c/exo_ash.h
	clang -target bpf -O2 -c $< -o $@
$(BUILD)/envs/echo.elf: $(ECHO_BPF)

$(FIRMWARE): envs FORCE | $(TAMAGO)
	@mkdir -p $(dir $@) firmware/$(BOARD)/images
	$(install-images)
	$(TARGET) $(TAMAGO) build $(KERNEL_TAGS) -ldflags "$(KERNEL_LDFLAGS)" -o $@ ./firmware/$(BOARD)

## image: the VisionFive 2 boot image, a FIT that replaces StarFive's
## visionfive2_fw_payload.img (BOARD=visionfive2)
image: board-has-image deps $(FIRMWARE)
	$(GO) run ./tools/vf2image -elf $(VF2_ELF) -envs $(VF2_ENVPACK) -o $(VF2_IMAGE)

## flash: write the image to an SD card's payload partition, after
## checking the card (BOARD=visionfive2 DEV=/dev/sdX; docs/BOARDS.md)
flash: board-has-image flash-has-dev image
	$(GO) build -o $(BUILD)/flash ./tools/flash
	$(BUILD)/flash -image $(VF2_IMAGE) -dev $(DEV)

# Prerequisites listed first, so that make stops before building anything.
board-has-image:
ifneq ($(BOARD),visionfive2)
	$(error only BOARD=visionfive2 has a boot image: make image BOARD=visionfive2)
endif
board-is-qemu:
ifneq ($(BOARD),qemu-virt)
	$(error make run and make bench boot QEMU: BOARD=qemu-virt (for the VisionFive 2: make image, make flash))
endif
flash-has-dev:
	@test -n "$(DEV)" || { echo "make flash: say which card: make flash BOARD=visionfive2 DEV=/dev/sdX"; exit 2; }

# The VisionFive 2 image, whatever BOARD says (make test checks it).
vf2:
	$(MAKE) --no-print-directory BOARD=visionfive2 image

# firmware/pollecho: the bare-metal polled responder make bench-net
# compares the handler path with.
$(POLLECHO): FORCE | $(TAMAGO)
	$(TARGET) $(TAMAGO) build -ldflags "$(KERNEL_LDFLAGS)" -o $@ ./firmware/pollecho

$(HARTTEST): FORCE | $(TAMAGO)
	$(TARGET) $(TAMAGO) build -tags linkcpuinit -ldflags "-T 0x80201000 -R 0x1000" -o $@ ./firmware/harttest

$(BENCHFW): $(FIRMWARE) FORCE | $(TAMAGO)
	@mkdir -p $(dir $@)
	$(TARGET) $(TAMAGO) build -tags exo_floor -ldflags "$(KERNEL_LDFLAGS)" -o $@ ./firmware/$(BOARD)

$(UNCHECKED): $(FIRMWARE) FORCE | $(TAMAGO)
	@mkdir -p $(dir $@)
	$(TARGET) $(TAMAGO) build -tags exo_floor,exo_unchecked_caps -ldflags "$(KERNEL_LDFLAGS)" -o $@ ./firmware/$(BOARD)

$(CALLTIME): $(FIRMWARE) FORCE | $(TAMAGO)
	@mkdir -p $(dir $@)
	$(TARGET) $(TAMAGO) build -tags exo_calltime -ldflags "$(KERNEL_LDFLAGS)" -o $@ ./firmware/$(BOARD)

$(PMPTEST): $(FIRMWARE) FORCE | $(TAMAGO)
	@mkdir -p $(dir $@)
	$(TARGET) $(TAMAGO) build -tags exo_pmptest -ldflags "$(KERNEL_LDFLAGS)" -o $@ ./firmware/$(BOARD)

# cmd/tamago, built for the host from the version go.mod pins. Its first
# run installs the matching TamaGo Go distribution (tamago-go) into the user
# cache directory: a git clone and make.bash, about 6 minutes.
$(TAMAGO): go.mod go.sum
	@mkdir -p $(BUILD)
	$(GO) build -o $@ github.com/usbarmory/tamago/cmd/tamago
	@echo "tamago: checking the TamaGo Go distribution (first install takes ~6 minutes)"
	env -u GOOS -u GOARCH $(TAMAGO) version

toolchain: $(TAMAGO)

## deps: install the system packages the targets use (as root), or say which
deps:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "deps: installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS) >/dev/null; \
		else \
			echo "deps: missing$$missing"; \
			echo "deps: install them with: sudo apt-get install $(APT_PKGS)"; exit 1; \
		fi; \
	fi

clean:
	rm -rf $(BUILD) firmware/*/images

FORCE:
