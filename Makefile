# Exo: build, boot and test. `make run` and `make test` are the two
# commands a user types; docs/BUILD.md describes every target.

BOARD    ?= qemu-virt
BUILD    := build
GO       ?= go
TAMAGO   := $(BUILD)/tamago
TARGET   := GOOS=tamago GOARCH=riscv64 GOOSPKG=github.com/usbarmory/tamago
ENVS     := hello counter testenv
# Environment images are linked at abi.TextStart (kernel/abi/layout.go).
ENV_LDFLAGS := -T 0x1010000 -R 0x1000

ifeq ($(BOARD),qemu-virt)
KERNEL_LDFLAGS := -T 0x80010000 -R 0x1000
else ifeq ($(BOARD),visionfive2)
KERNEL_LDFLAGS := -T 0x40010000 -R 0x1000
else
$(error unknown BOARD "$(BOARD)": known boards are qemu-virt and visionfive2)
endif

FIRMWARE := $(BUILD)/$(BOARD)/firmware.elf
# The measurement build: capabilities unchecked on binding calls (kernel/
# capcheck.go), so that `make bench` can show a checked binding next to an
# unchecked one. It announces itself at boot; never boot it otherwise.
UNCHECKED := $(BUILD)/$(BOARD)-unchecked/firmware.elf
FUZZTIME ?= 10s

# What the targets need from the system (Debian package names), and one
# command from each to check for.
APT_PKGS := qemu-system-misc u-boot-tools device-tree-compiler tcpdump clang llvm \
            binutils-riscv64-linux-gnu iproute2
TOOLS    := qemu-system-riscv64 mkimage dumpimage dtc tcpdump clang llvm-objdump \
            riscv64-linux-gnu-objdump ip

.PHONY: all run test firmware envs deps toolchain vet test-host test-qemu fuzz \
        fuzz-brief bench clean FORCE

all: firmware

## run: build the firmware and boot it in QEMU with the demo environments
run: deps firmware
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) $(if $(MANIFEST),-manifest $(MANIFEST))

## test: every test: host, fuzz targets briefly, and QEMU boots
test: deps firmware vet
	EXO_REQUIRE_TOOLS=1 EXO_FIRMWARE=$(abspath $(FIRMWARE)) \
		$(GO) test -count=1 -timeout 45m ./...
	$(MAKE) --no-print-directory fuzz-brief

## vet: go vet for the host and for the TamaGo target
vet: $(TAMAGO)
	$(GO) vet ./...
	$(TARGET) $(TAMAGO) vet ./board/... ./kernel/... ./libos/... ./firmware/...
	$(TARGET) $(TAMAGO) vet -tags exo_unchecked_caps ./kernel/

## test-host: the host tests only (no QEMU, no external tools required)
test-host:
	$(GO) test ./...

## fuzz-brief: run every fuzz target for FUZZTIME (default 10s)
fuzz-brief:
	$(GO) run ./tools/fuzzall -fuzztime $(FUZZTIME)

## bench: trap-path figures from one QEMU boot (timed, then counted with
## -icount), the same with capabilities unchecked, and the host benchmarks
bench: deps firmware $(UNCHECKED)
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest tools/exorun/bench.manifest -timeout 5m
	$(GO) run ./tools/exorun -firmware $(UNCHECKED) -manifest tools/exorun/bench.manifest -timeout 5m
	$(GO) run ./tools/exorun -firmware $(FIRMWARE) -manifest tools/exorun/bench.manifest -timeout 5m -icount
	$(GO) run ./tools/exorun -firmware $(UNCHECKED) -manifest tools/exorun/bench.manifest -timeout 5m -icount
	$(GO) test -run '^$$' -bench . -benchmem ./caps/... ./ash/...

firmware: $(FIRMWARE)

# The Go build cache decides what to rebuild; FORCE makes make ask it.
$(BUILD)/envs/%.elf: FORCE | $(TAMAGO)
	@mkdir -p $(dir $@)
	$(TARGET) $(TAMAGO) build -ldflags "$(ENV_LDFLAGS)" -o $@ ./firmware/envs/$*

envs: $(ENVS:%=$(BUILD)/envs/%.elf)

$(FIRMWARE): envs FORCE | $(TAMAGO)
	@mkdir -p $(dir $@) firmware/$(BOARD)/images
	cp $(ENVS:%=$(BUILD)/envs/%.elf) firmware/$(BOARD)/images/
	$(TARGET) $(TAMAGO) build -ldflags "$(KERNEL_LDFLAGS)" -o $@ ./firmware/$(BOARD)

$(UNCHECKED): $(FIRMWARE) FORCE | $(TAMAGO)
	@mkdir -p $(dir $@)
	$(TARGET) $(TAMAGO) build -tags exo_unchecked_caps -ldflags "$(KERNEL_LDFLAGS)" -o $@ ./firmware/$(BOARD)

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
