#!/usr/bin/env bash
# Debian 13 (trixie)'s nft, libnftables and the libraries they need, for measuring a newer nft side by
# side with the system's: downloaded with a private apt configuration (its own sources, lists and
# cache: the system's apt state is untouched), unpacked into a folder with trixie's libc and loader.
#   bench/fetch-trixie-nft.sh [DIR]     (default bench/out/trixie; as root)
# Prints DIR on stdout; run the binary as `DIR/nft` (a wrapper: trixie's loader, its library path).
set -euo pipefail
dir=$(realpath -m "${1:-$(dirname "$0")/out/trixie}")
mirror=${MIRROR:-http://deb.debian.org/debian}
apt_dir=$dir/apt root=$dir/root
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc/preferences.d" "$apt_dir/etc/sources.list.d" "$root"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$apt_dir/etc/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/etc/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
  -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d" -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache" -o "Dir::State::status=/dev/null" -o "APT::Architecture=amd64" -o "APT::Architectures=amd64" -o "APT::Sandbox::User=root")
if [ ! -x "$root/usr/sbin/nft" ]; then
  apt-get "${apt_opts[@]}" -qq update >&2
  # nft and what it links: libnftables, libmnl, libnftnl, libjansson, libedit/readline, libgmp, libxtables, libc.
  pkgs=(nftables libnftables1 libmnl0 libnftnl11 libjansson4 libedit2 libbsd0 libmd0 libtinfo6 libgmp10 libxtables12 libc6 libgcc-s1)
  (cd "$apt_dir/cache/archives" && apt-get "${apt_opts[@]}" download "${pkgs[@]}" >&2)
  for deb in "$apt_dir"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$root"; done
fi
loader=
for l in "$root"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root"/lib64/ld-linux-x86-64.so.2; do [ -e "$l" ] && { loader=$l; break; }; done
[ -n "$loader" ] || { echo "no loader in trixie's libc6" >&2; exit 3; }
libs=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu
cat >"$dir/nft" <<WRAP
#!/bin/sh
exec "$loader" --library-path "$libs" "$root/usr/sbin/nft" "\$@"
WRAP
chmod +x "$dir/nft"
"$dir/nft" --version >&2
echo "$dir"
