#!/usr/bin/env bash
# Packs the test VM's initramfs: busybox, the host's nft with its libraries, one kernel's netfilter
# modules, the checks and the cases.
#   build-initramfs.sh KERNEL_DIR CASES_DIR LABEL OUT.gz
set -euo pipefail
kernel=$1 cases=$2 label=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,tmp,dev,etc,kernels}
cp /bin/busybox "$root/bin/busybox"
ln -s /bin/busybox "$root/sbin/modprobe"

# nft and every library it loads, at the same paths (the dynamic loader included).
nft=$(command -v nft)
cp "$nft" "$root/usr/sbin/nft"
for lib in $(ldd "$nft" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
[ -e /etc/protocols ] && cp /etc/protocols "$root/etc/"
[ -e /etc/services ] && cp /etc/services "$root/etc/"

# The netfilter modules and what they depend on (crc32c in crypto/ and lib/); depmod on the copy.
release=$(cat "$kernel/release")
mods=$root/lib/modules/$release
for d in net/netfilter net/ipv4/netfilter net/ipv6/netfilter crypto lib; do
  [ -d "$kernel/modules/kernel/$d" ] && mkdir -p "$mods/kernel/$d" && cp -r "$kernel/modules/kernel/$d/." "$mods/kernel/$d/"
done
cp "$kernel/modules/modules.builtin" "$kernel/modules/modules.order" "$mods/" 2>/dev/null || true
busybox depmod -b "$root" "$release"

cp "$here/guest-init.sh" "$root/init"
chmod +x "$root/init"
cp "$here/modules.wanted" "$root/modules.wanted"
cp "$here/check.sh" "$here/normalize.awk" "$here/expected-failures.txt" "$root/kernels/"
cp -r "$cases" "$root/cases"
echo "$label" >"$root/kernel-label"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
