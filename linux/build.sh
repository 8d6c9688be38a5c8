#!/bin/sh
# linux/build.sh OUT: build the Linux peer guest of make compare into OUT
# (build/linux): Debian's linux-source-6.1 tree, configured from
# `tinyconfig` plus linux/guest.config, cross-built for riscv64 with a
# built-in initramfs holding linux/init (Go) and linux/measure.c (C,
# static). Only what changed is rebuilt: the tree is unpacked once, the
# configuration is regenerated when guest.config changes, and kbuild
# relinks the kernel when the initramfs' files change. The result is
# OUT/Image (the -kernel of docs/COMPARE.md's QEMU command).
set -eu

OUT=${1:?usage: linux/build.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
SRC=$OUT/linux-source-6.1
OBJ=$OUT/obj
CROSS=riscv64-linux-gnu-
JOBS=${JOBS:-2}
GO=${GO:-go}

fail() { echo "linux-guest: $*" >&2; exit 1; }

# What the build needs, by Debian package.
missing=""
[ -f "$TARBALL" ] || missing="$missing linux-source-6.1"
command -v ${CROSS}gcc >/dev/null 2>&1 || missing="$missing gcc-riscv64-linux-gnu"
for t in bc:bc bison:bison flex:flex cpio:cpio xz:xz-utils make:make; do
	command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
done
[ -e /usr/include/libelf.h ] || missing="$missing libelf-dev"
[ -e /usr/include/openssl/ssl.h ] || missing="$missing libssl-dev"
[ -e /usr/riscv64-linux-gnu/lib/libc.a ] || missing="$missing libc6-dev-riscv64-cross"
if [ -n "$missing" ]; then
	fail "missing Debian packages:$missing (as root: apt-get install$missing)"
fi

if [ ! -f "$SRC/.unpacked" ]; then
	echo "linux-guest: unpacking $TARBALL (once)"
	rm -rf "$SRC"
	tar -C "$OUT" -xJf "$TARBALL" || fail "cannot unpack $TARBALL"
	touch "$SRC/.unpacked"
fi

# The init programs and the initramfs list (paths are absolute: kbuild
# runs gen_init_cpio from the object tree).
echo "linux-guest: building linux/init (Go, static) and linux/measure.c (C, static)"
(cd "$HERE/.." && CGO_ENABLED=0 GOOS=linux GOARCH=riscv64 $GO build -trimpath -o "$OUT/init" ./linux/init) ||
	fail "go build ./linux/init failed"
${CROSS}gcc -static -O2 -Wall -o "$OUT/measure.new" "$HERE/measure.c" || fail "${CROSS}gcc linux/measure.c failed"
# Keep the binary's timestamp when it did not change, so that kbuild does
# not relink.
if cmp -s "$OUT/measure.new" "$OUT/measure" 2>/dev/null; then rm "$OUT/measure.new"; else mv "$OUT/measure.new" "$OUT/measure"; fi
cat > "$OUT/initramfs.list.new" <<LIST
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /tmp 1777 0 0
file /init $OUT/init 0755 0 0
file /measure $OUT/measure 0755 0 0
LIST
if cmp -s "$OUT/initramfs.list.new" "$OUT/initramfs.list" 2>/dev/null; then rm "$OUT/initramfs.list.new"; else mv "$OUT/initramfs.list.new" "$OUT/initramfs.list"; fi

# The configuration: tinyconfig + guest.config, regenerated only when the
# fragment (or the initramfs list's path) changes.
mkdir -p "$OBJ"
{ cat "$HERE/guest.config"; echo "CONFIG_INITRAMFS_SOURCE=\"$OUT/initramfs.list\""; } > "$OUT/fragment.config"
if ! cmp -s "$OUT/fragment.config" "$OBJ/fragment.applied" 2>/dev/null || [ ! -f "$OBJ/.config" ]; then
	echo "linux-guest: configuring (tinyconfig + linux/guest.config)"
	make -s -C "$SRC" O="$OBJ" ARCH=riscv CROSS_COMPILE=$CROSS tinyconfig >/dev/null
	(cd "$SRC" && KCONFIG_CONFIG="$OBJ/.config" ./scripts/kconfig/merge_config.sh -m -O "$OBJ" "$OBJ/.config" "$OUT/fragment.config" >/dev/null)
	make -s -C "$SRC" O="$OBJ" ARCH=riscv CROSS_COMPILE=$CROSS olddefconfig >/dev/null
	# Every option the fragment sets must have survived Kconfig.
	bad=""
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) grep -qxF "$line" "$OBJ/.config" || bad="$bad ${line%%=*}" ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			! grep -qx "$opt=y" "$OBJ/.config" || bad="$bad $opt(wanted off)" ;;
		esac
	done < "$OUT/fragment.config"
	[ -z "$bad" ] || fail "Kconfig dropped or changed:$bad (see $OBJ/.config)"
	cp "$OUT/fragment.config" "$OBJ/fragment.applied"
fi

echo "linux-guest: make -j$JOBS Image in $OBJ (the first build takes a while; progress below)"
start=$(date +%s)
log=$OUT/build.log
# Progress: the last line of kbuild's output every few seconds.
( make -C "$SRC" O="$OBJ" ARCH=riscv CROSS_COMPILE=$CROSS -j"$JOBS" Image > "$log" 2>&1; echo $? > "$OUT/build.rc" ) &
pid=$!
while kill -0 $pid 2>/dev/null; do
	sleep 5
	kill -0 $pid 2>/dev/null && printf 'linux-guest: [%4ss] %s\n' $(( $(date +%s) - start )) "$(tail -n 1 "$log" | cut -c1-100)"
done
wait $pid || true
rc=$(cat "$OUT/build.rc")
if [ "$rc" != 0 ]; then
	tail -n 30 "$log" >&2
	fail "kernel build failed (exit $rc); the whole log is $log"
fi
cp "$OBJ/arch/riscv/boot/Image" "$OUT/Image.new" && mv "$OUT/Image.new" "$OUT/Image"
echo "linux-guest: $OUT/Image ready ($(( $(date +%s) - start )) s)"
