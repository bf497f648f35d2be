# The README's commands. `setup` installs what a fresh Debian machine lacks; it is idempotent.
SHELL := /bin/bash
DEBS := nftables iproute2 conntrack iptables

.PHONY: setup demo example test typecheck golden

setup: node_modules/.installed
	@missing=""; for c in nft ip conntrack iptables-restore; do command -v $$c >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBS) >/dev/null; \
	  else echo "missing Debian packages ($(DEBS)); run 'make setup' as root" >&2; fi; \
	fi

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The README's first command: sluice live on a two-node cluster network in network namespaces (demo).
# Needs root, nft and ip; without them it prints the dry run (`sluice render`) and exits 1.
demo: setup
	@node_modules/.bin/node cmd/demo.ts

# sluice's main job on the built-in example: print the nft rules for the Kubernetes docs' my-service.
example: node_modules/.installed
	npx sluice render --from examples/my-service --config examples/kube-proxy-config.yaml

typecheck: node_modules/.installed
	npm run typecheck

# Every test: the jest suite, then the rules on Debian's 5.10 and 6.1 kernels in qemu (test-kernels).
test: setup
	npm test
	bash test/kernels/run.sh

# Rewrites rules-fixtures/*/expected.nft from the current renderer: review the diff like code.
golden: node_modules/.installed
	UPDATE_GOLDEN=1 npm test -- test/golden.test.ts

# The benchmarks, as root (40-50 minutes at the default sizes 1000x10,10000x10,44000x1,5000x50): sluice
# render and its peak RSS, the nft floor, kube-proxy 1.36's nftables rule shape, nft's own time for small
# transactions, sluice run from manifests and from a fake API server (first full sync, endpoint changes,
# a burst, a restart, peak RSS) and the data plane in a lab against kube-proxy iptables-mode rules.
# Writes bench/results.json and the results block of BENCHMARKS.md; progress on stderr. Options:
# make bench BENCH_ARGS="--sizes 1000,10000 --endpoints 10 --at HEAD" (node bench/run.ts --help).
.PHONY: bench
bench: setup
	node_modules/.bin/node bench/run.ts $(BENCH_ARGS)

# As root: sluice's golden scripts and partial transactions on the host kernel, then in qemu VMs on
# Debian 11's 5.10 and Debian 12's 6.1 cloud kernels (test/kernels/run.sh; kernels cached in .cache/kernels).
# KERNELS="" checks the host kernel only; REFRESH=1 looks for newer kernel packages.
.PHONY: test-kernels
test-kernels: setup
	bash test/kernels/run.sh
