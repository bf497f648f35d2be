#!/usr/bin/env bash
# make test-kernels: sluice's nft scripts and partial transactions on the host kernel and, in qemu
# VMs, on Debian 11's 5.10 and Debian 12's 6.1 cloud kernels (what production nodes run).
#   KERNELS="5.10 6.1" (default; "" = host only)  REFRESH=1 re-asks the mirror for newer kernels.
# Installs what it needs; says "skipped: <reason>" and exits 0 only where that cannot be had.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=$repo/.cache/kernels
series_list=${KERNELS-5.10 6.1}
# A VM that does not print its marker in this time has hung (TCG runs the checks in about a minute).
vm_timeout=${VM_TIMEOUT:-240}
started=$(date +%s)

skip() { echo "test-kernels skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, apt-get)"
[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] || skip "needs Linux on x86_64, this is $(uname -s)/$(uname -m)"

# Tools: installed through apt-get when missing. busybox must be the static one (it runs in the VM).
need=()
for t in nft unshare cpio gzip ldd dpkg-deb; do command -v "$t" >/dev/null || need+=("$t"); done
if [ -n "$series_list" ]; then
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
fi
if [ ${#need[@]} -gt 0 ]; then
  pkgs=()
  for t in "${need[@]}"; do
    case "$t" in nft) pkgs+=(nftables) ;; unshare) pkgs+=(util-linux) ;; ldd) pkgs+=(libc-bin) ;; dpkg-deb) pkgs+=(dpkg) ;; *) pkgs+=("$t") ;; esac
  done
  command -v apt-get >/dev/null || skip "missing ${pkgs[*]} and no apt-get to install them"
  echo "test-kernels: installing ${pkgs[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; } \
    || skip "could not install ${pkgs[*]} with apt-get"
fi
node=$repo/node_modules/.bin/node
[ -x "$node" ] || { echo "test-kernels: $node missing: run make setup (npm ci) first" >&2; exit 1; }

cases=$cache/cases
mkdir -p "$cache"
"$node" "$here/generate.ts" "$cases" || { echo "test-kernels: generating the cases failed" >&2; exit 1; }

total_pass=0 total_fail=0 results=()
# Relays a run's lines with its kernel in front, and adds its counts to the totals.
relay() { # LABEL FILE RC
  local label=$1 file=$2 rc=$3 counts
  tr -d '\r' <"$file" >"$file.txt" # the serial console ends lines with CR LF
  grep -E '^(PASS|FAIL|XFAIL|XPASS) |^    |^guest: ' "$file.txt" | sed "s/^/[$label] /"
  counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$file.txt" | tail -1)
  if [[ "$counts" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] && { [ "$rc" = 0 ] || [ "${BASH_REMATCH[2]}" != 0 ]; }; then
    total_pass=$((total_pass + BASH_REMATCH[1])); total_fail=$((total_fail + BASH_REMATCH[2]))
    results+=("$label: $(grep -E '^kernel ' "$file.txt" | tail -1 | sed 's/^kernel [^:]*: //')")
  else
    # No counts, or a failure the counts do not show (a crash, a hang): one failed check.
    echo "[$label] FAIL the run did not complete (exit status $rc)"; tail -5 "$file.txt" | sed "s/^/[$label]     /"
    total_fail=$((total_fail + 1)); results+=("$label: did not complete")
  fi
}

# The host kernel first: fast, and tells a kernel-specific failure from one that is not.
host_label=host-$(uname -r)
t0=$(date +%s)
sh "$here/check.sh" "$cases" "$host_label" "$here/expected-failures.txt" >"$cache/host.log" 2>&1
relay "$host_label" "$cache/host.log" $?
echo "test-kernels: host kernel checked in $(( $(date +%s) - t0 )) s"

# The VMs: fetched and packed one after the other, booted side by side (one core each).
declare -A pid log series_of
for s in $series_list; do
  if ! dir=$(bash "$here/fetch-kernel.sh" "$s" "$cache"); then
    echo "test-kernels: kernel $s skipped: no cloud kernel package of the series could be downloaded"
    results+=("$s: skipped, not obtainable"); continue
  fi
  label=$(cat "$dir/version")
  img=$cache/initramfs-$s.gz
  bash "$here/build-initramfs.sh" "$dir" "$cases" "$label" "$img" || { total_fail=$((total_fail + 1)); results+=("$label: initramfs failed"); continue; }
  log[$label]=$cache/console-$s.log
  rm -f "${log[$label]}"
  # No NIC: the guest sends nothing anywhere. TCG: KVM hangs on these machines (see the notes).
  timeout "$vm_timeout" qemu-system-x86_64 -accel tcg -cpu max -m 512M -smp 1 -nographic -nic none -monitor none \
    -kernel "$dir/vmlinuz" -initrd "$img" -append "console=ttyS0 panic=-1 quiet" -no-reboot \
    -serial "file:${log[$label]}" >"$cache/qemu-$s.out" 2>&1 &
  pid[$label]=$!
  series_of[$label]=$s
  echo "test-kernels: booting $(cat "$dir/release") ($label)"
done
for label in "${!pid[@]}"; do
  wait "${pid[$label]}"; qrc=$?
  marker=$(grep -ao 'SLUICE-KERNEL-TEST-EXIT=[0-9]*' "${log[$label]}" 2>/dev/null | tail -1)
  if [ -z "$marker" ]; then
    [ "$qrc" = 124 ] && why="timed out after $vm_timeout s" || why="qemu exited $qrc: $(tail -3 "$cache/qemu-${series_of[$label]}.out" 2>/dev/null)"
    echo "guest: no exit marker ($why)" >>"${log[$label]}"
    relay "$label" "${log[$label]}" 1
  else
    relay "$label" "${log[$label]}" "${marker#*=}"
  fi
done

echo "test-kernels: $(( $(date +%s) - started )) s"
for r in "${results[@]}"; do echo "  $r"; done
echo "test-kernels: $total_pass passed, $total_fail failed"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
