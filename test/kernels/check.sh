#!/bin/sh
# Runs the kernel checks against the running kernel: every golden script loaded into a fresh network
# namespace and over itself, and every transition's partial transaction compared with a fresh load
# of its result. POSIX sh: it runs the same on the host and in the VM's busybox.
#   check.sh CASES_DIR KERNEL_LABEL EXPECTED_FAILURES_FILE
# Prints one PASS / FAIL / XFAIL / XPASS line per check and "N passed, N failed"; exit 1 if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
self="$here/check.sh"
awkf="$here/normalize.awk"

# Inside a fresh network namespace (re-invoked under unshare -n): one step of a check.
if [ "${1:-}" = "--in-netns" ]; then
  shift
  step=$1 dir=$2 work=$3
  # Two calls: nft 1.0.6 fails the second of two list commands in one call (its cache).
  list() { { nft list table ip sluice && nft list table ip6 sluice; } >"$1.raw" 2>"$1.err" && awk -f "$awkf" "$1.raw" | LC_ALL=C sort | cut -f1,3 >"$1"; }
  case "$step" in
    golden)    # $dir is the script: load, list, load again over it, list.
      nft -f "$dir" 2>"$work/load.err" || exit 10
      list "$work/first" || exit 11
      nft -f "$dir" 2>"$work/reload.err" || exit 12
      list "$work/again" || exit 13 ;;
    from-tx)
      nft -f "$dir/from.nft" 2>"$work/from.err" || exit 10
      nft -f "$dir/tx.nft" 2>"$work/tx.err" || exit 12
      list "$work/after-tx" || exit 13 ;;
    to)
      nft -f "$dir/to.nft" 2>"$work/to.err" || exit 10
      list "$work/fresh" || exit 11 ;;
  esac
  exit 0
fi

cases=$1 label=$2 xfail_file=$3
work_root=${TMPDIR:-/tmp}/sluice-kernel-checks.$$
mkdir -p "$work_root"
passed=0 failed=0 xfailed=0

# The reason a check is listed as an expected failure on this kernel, or nothing.
expected_failure() {
  [ -f "$xfail_file" ] || return 0
  while read -r glob name reason; do
    case "$glob" in ''|'#'*) continue ;; esac
    [ "$name" = "$1" ] || continue
    # shellcheck disable=SC2254
    case "$label" in $glob) echo "${reason:-listed}"; return 0 ;; esac
  done <"$xfail_file"
}

show() { [ -s "$1" ] && sed -n "1,14s/^/    /p" "$1"; return 0; }

verdict() { # name ok(0|1) message [detail files...]
  name=$1 ok=$2 msg=$3; shift 3
  why=$(expected_failure "$name")
  if [ "$ok" = 0 ] && [ -z "$why" ]; then passed=$((passed + 1)); echo "PASS $name"
  elif [ "$ok" = 0 ]; then failed=$((failed + 1)); echo "XPASS $name: listed as expected to fail ($why) but passed: remove it from expected-failures"
  elif [ -n "$why" ]; then xfailed=$((xfailed + 1)); echo "XFAIL $name: $msg (expected: $why)"; for f in "$@"; do show "$f"; done
  else failed=$((failed + 1)); echo "FAIL $name: $msg"; for f in "$@"; do show "$f"; done
  fi
}

for g in "$cases"/golden/*.nft; do
  name=golden/$(basename "$g" .nft) w="$work_root/$name"
  mkdir -p "$w"
  unshare -n sh "$self" --in-netns golden "$g" "$w"
  case $? in
    0) if diff "$w/first" "$w/again" >"$w/diff"; then verdict "$name" 0 ""
       else verdict "$name" 1 "loaded over itself, the tables differ from the first load" "$w/diff"; fi ;;
    10) verdict "$name" 1 "nft refused the script" "$w/load.err" ;;
    12) verdict "$name" 1 "nft refused the script loaded over itself" "$w/reload.err" ;;
    *) verdict "$name" 1 "nft could not list the tables" "$w/first.err" "$w/again.err" ;;
  esac
done

for d in "$cases"/transition/*/ "$cases"/probe/*/; do
  d=${d%/}
  [ -d "$d" ] || continue
  name=$(basename "$(dirname "$d")")/$(basename "$d") w="$work_root/$name"
  mkdir -p "$w"
  unshare -n sh "$self" --in-netns from-tx "$d" "$w"; rc_tx=$?
  unshare -n sh "$self" --in-netns to "$d" "$w"; rc_to=$?
  if [ "$rc_tx" = 10 ]; then verdict "$name" 1 "nft refused the 'from' script" "$w/from.err"
  elif [ "$rc_tx" = 12 ]; then verdict "$name" 1 "nft refused the transaction" "$w/tx.err"
  elif [ "$rc_tx" != 0 ]; then verdict "$name" 1 "nft could not list the tables after the transaction" "$w/after-tx.err"
  elif [ "$rc_to" = 10 ]; then verdict "$name" 1 "nft refused the 'to' script" "$w/to.err"
  elif [ "$rc_to" != 0 ]; then verdict "$name" 1 "nft could not list the tables of the 'to' script" "$w/fresh.err"
  elif diff -U0 "$w/fresh" "$w/after-tx" >"$w/diff"; then verdict "$name" 0 ""
  else verdict "$name" 1 "after the transaction the tables differ from a fresh load of the 'to' script (- fresh, + after the transaction)" "$w/diff"
  fi
done

rm -rf "$work_root"
echo "kernel $label: $passed passed, $failed failed, $xfailed expected failures"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
