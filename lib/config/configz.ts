// /configz: the effective configuration as kube-proxy serves it on its metrics port (component-base
// configz): {"kubeproxy.config.k8s.io": <the internal KubeProxyConfiguration>}. Go marshals that
// struct without json tags, so keys are its Go field names; durations are Go duration text ("30s",
// "24h0m0s"). Sections that only other modes read (iptables, ipvs, winkernel) are left out: sluice
// keeps nothing of them. sluice's own extensions sit under a "sluice" key of their own.
import type { ProxyConfig } from './kube-proxy-config.ts';

/** Go's time.Duration.String() for whole milliseconds: "0s", "500ms", "1s", "15m0s", "24h0m0s". */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000), m = Math.floor((ms % 3_600_000) / 60_000), s = (ms % 60_000) / 1000;
  const secs = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  if (h > 0) return `${h}h${m}m${secs}`;
  if (m > 0) return `${m}m${secs}`;
  return secs;
}

/** `logFormat`: the format in effect (the command line may override the file's). */
export function configzView(c: ProxyConfig, logFormat: 'json' | 'text' = c.logging.format ?? 'json'): Record<string, unknown> {
  const ct = c.conntrack;
  return {
    'kubeproxy.config.k8s.io': {
      Linux: {
        Conntrack: {
          MaxPerCore: ct.maxPerCore,
          Min: ct.min,
          TCPEstablishedTimeout: goDuration(ct.tcpEstablishedTimeout * 1000),
          TCPCloseWaitTimeout: goDuration(ct.tcpCloseWaitTimeout * 1000),
          TCPBeLiberal: ct.tcpBeLiberal,
          UDPTimeout: goDuration(ct.udpTimeout * 1000),
          UDPStreamTimeout: goDuration(ct.udpStreamTimeout * 1000),
        },
        MasqueradeAll: c.masqueradeAll,
        OOMScoreAdj: c.oomScoreAdj,
      },
      FeatureGates: c.featureGates,
      ClientConnection: {
        Kubeconfig: c.clientConnection.kubeconfig,
        AcceptContentTypes: c.clientConnection.acceptContentTypes,
        ContentType: c.clientConnection.contentType,
        QPS: c.clientConnection.qps,
        Burst: c.clientConnection.burst,
      },
      // component-base's logging configuration has json tags.
      Logging: { format: logFormat, verbosity: c.logging.verbosity },
      HostnameOverride: c.hostnameOverride ?? '',
      BindAddress: c.bindAddress,
      HealthzBindAddress: c.healthzBindAddress,
      MetricsBindAddress: c.metricsBindAddress,
      BindAddressHardFail: c.bindAddressHardFail,
      EnableProfiling: c.enableProfiling,
      Mode: 'nftables',
      NFTables: { MasqueradeBit: c.masqueradeBit },
      DetectLocalMode: c.detectLocalMode,
      DetectLocal: {
        BridgeInterface: c.bridgeInterface ?? '',
        ClusterCIDRs: c.clusterCIDRs.map((x) => x.cidr),
        InterfaceNamePrefix: c.interfaceNamePrefix ?? '',
      },
      NodePortAddresses: c.nodePortAddresses.map((a) => (typeof a === 'string' ? a : a.cidr)),
      SyncPeriod: goDuration(c.syncPeriodMs),
      MinSyncPeriod: goDuration(c.minSyncPeriodMs),
      ConfigSyncPeriod: goDuration(c.configSyncPeriodMs),
    },
    sluice: {
      apiVersion: c.apiVersion,
      serviceCIDRs: c.serviceCIDRs.map((x) => x.cidr),
      serviceProxyName: c.serviceProxyName ?? '',
      loadBalancing: c.loadBalancing,
    },
  };
}
