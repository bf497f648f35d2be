#!/usr/bin/env bash
# Downloads and unpacks one Debian cloud kernel series into the cache, with a private apt
# configuration (its own sources, lists and cache) so the system's apt state is never touched.
#   fetch-kernel.sh SERIES CACHE_DIR     SERIES: 5.10 (bullseye) or 6.1 (bookworm)
# Prints the unpacked kernel's folder (vmlinuz, modules/, release: uname -r, version: the point release) on stdout; progress on stderr.
# The newest obtainable point release wins; a listed one that will not download is skipped.
# A kernel unpacked less than a week ago is reused without asking the mirror (REFRESH=1 asks anyway).
set -euo pipefail
series=$1 cache=$(realpath -m "$2")
case "$series" in
  5.10) suites=(bullseye bullseye-updates) security=bullseye-security abi='5\.10\.0' ;;
  6.1) suites=(bookworm bookworm-updates) security=bookworm-security abi='6\.1\.0' ;;
  *) echo "unknown kernel series $series" >&2; exit 2 ;;
esac
base=$cache/$series
mkdir -p "$base"

if [ -z "${REFRESH:-}" ] && [ -f "$base/selected" ] && [ -n "$(find "$base/selected" -mtime -7)" ] \
   && [ -f "$(cat "$base/selected")/vmlinuz" ]; then
  cat "$base/selected"; exit 0
fi

# The mirrors the machine's own sources use: the Debian archive, and its security archive.
sources_uris() { # SUITE-REGEX: URIs of the system's sources serving a matching suite
  {
    for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && sed '/^[[:space:]]*#/d' "$f" | awk -v RS= '{ gsub(/\n/, " "); print }'; done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] && sed -n 's/^deb  *\(\[[^]]*\]  *\)\{0,1\}\([^ ]*\)  *\([^ ]*\).*/URIs: \2 Suites: \3/p' "$f"
    done
  } | awk -v want="$1" '
    { uris = ""; suites = ""; on = ""
      for (i = 1; i <= NF; i++) { if ($i ~ /:$/) on = $i; else if (on == "URIs:") uris = uris " " $i; else if (on == "Suites:") suites = suites " " $i }
      if (match(suites, want)) { n = split(uris, u, " "); for (j = 1; j <= n; j++) print u[j] } }' | sed 's#/*$##'
}
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
mirror=$(sources_uris "(^| )${codename}( |$)" | grep -v -- '-security' | head -1 || true)
secmirror=$(sources_uris "(^| )${codename}-security( |$)" | head -1 || true)
[ -n "$mirror" ] || { echo "no Debian mirror found in /etc/apt sources" >&2; exit 3; }
[ -n "$secmirror" ] || secmirror=${mirror%/debian}/debian-security

apt_dir=$base/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc/preferences.d" "$apt_dir/etc/sources.list.d"
{
  for s in "${suites[@]}"; do echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main"; done
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $secmirror $security main"
} >"$apt_dir/etc/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/etc/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
  -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d" -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache" -o "Dir::State::status=/dev/null" -o "APT::Architecture=amd64" -o "APT::Architectures=amd64" -o "APT::Sandbox::User=root")
echo "kernel $series: apt lists of ${suites[*]} $security from $mirror" >&2
apt-get "${apt_opts[@]}" -qq update >&2

# Every (package, version) of the series, newest first.
candidates=$(apt-cache "${apt_opts[@]}" pkgnames linux-image- | grep -E "^linux-image-${abi}-[0-9]+-cloud-amd64-unsigned$" \
  | while read -r p; do apt-cache "${apt_opts[@]}" madison "$p" | awk -F' *\\| *' '{print $1" "$2}'; done | sort -k2,2Vr)
[ -n "$candidates" ] || { echo "no linux-image-${abi//\\/}-*-cloud-amd64-unsigned listed" >&2; exit 3; }

while read -r pkg ver; do
  [ -n "$pkg" ] || continue
  dest=$base/$ver
  if [ ! -f "$dest/vmlinuz" ]; then
    echo "kernel $series: trying $pkg $ver" >&2
    dl=$base/download
    rm -rf "$dl" && mkdir -p "$dl"
    if ! (cd "$dl" && apt-get "${apt_opts[@]}" -qq download "$pkg=$ver" >&2); then
      echo "kernel $series: $pkg $ver is listed but could not be downloaded; trying an older one" >&2
      continue
    fi
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/x"
    dpkg-deb -x "$dl"/*.deb "$dest.tmp/x"
    cp "$dest.tmp/x"/boot/vmlinuz-* "$dest.tmp/vmlinuz"
    release=$(basename "$dest.tmp/x"/lib/modules/*)
    mv "$dest.tmp/x/lib/modules/$release" "$dest.tmp/modules"
    echo "$release" >"$dest.tmp/release"
    echo "${ver%-*}" >"$dest.tmp/version"
    rm -rf "$dest.tmp/x" "$dl"
    mv "$dest.tmp" "$dest"
  fi
  echo "$dest" >"$base/selected"
  # Older unpacked releases of the series are not needed any more.
  find "$base" -mindepth 1 -maxdepth 1 -type d ! -name apt ! -path "$dest" -exec rm -rf {} +
  echo "$dest"
  exit 0
done <<<"$candidates"
echo "kernel $series: none of the listed packages could be downloaded" >&2
exit 3
