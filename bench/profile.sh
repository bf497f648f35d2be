#!/usr/bin/env bash
# A CPU profile of one `sluice render` of the synthetic cluster, and where its time goes.
# Usage: bench/profile.sh [SERVICES] [ENDPOINTS]      (default 10000 10; `npm run bench:profile`)
# Writes bench/out/profile/*.cpuprofile (open it in Chrome DevTools or speedscope) and prints the
# top self-time functions and files. Needs no root.
#
#        bench/profile.sh run [SERVICES]              (as root)
# profiles `sluice run` instead, through bench/run.ts --profile-run: the part of the profile the
# single-endpoint changes took (bench/out/profile-run-*.txt; its timings are skewed by the profiler).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = run ]; then
  exec node_modules/.bin/node bench/run.ts --only run --sizes "${2:-10000}" --runs 1 --profile-run \
    --no-md --out bench/out/profile-run.json
fi
services=${1:-10000}
endpoints=${2:-10}
node=node_modules/.bin/node
out=bench/out/profile
dir=bench/out/cluster-${services}x${endpoints}
config=bench/out/kube-proxy-config.yaml

mkdir -p bench/out
if [ ! -d "$dir/endpointslices" ] || [ "$(ls "$dir/endpointslices" | wc -l)" -ne "$services" ]; then
  echo "writing the synthetic cluster ($services services x $endpoints endpoints) to $dir" >&2
  "$node" bench/synth.ts "$dir" --services "$services" --endpoints "$endpoints"
fi
# The same configuration as bench/run.ts (bench/context.ts).
printf '%s\n' 'apiVersion: kubeproxy.config.k8s.io/v1alpha1' 'kind: KubeProxyConfiguration' 'mode: nftables' \
  'clusterCIDR: 10.128.0.0/9' 'hostnameOverride: node1' > "$config"

rm -rf "$out"
mkdir -p "$out"
echo "profiling: sluice render --from $dir --config $config" >&2
"$node" --cpu-prof --cpu-prof-dir="$out" --cpu-prof-interval=250 \
  cmd/sluice.ts render --from "$dir" --config "$config" > "$out/render.nft"
profile=$(ls "$out"/*.cpuprofile | head -n 1)
echo "profile: $profile" >&2
"$node" bench/profile-top.ts "$profile" --top 25
