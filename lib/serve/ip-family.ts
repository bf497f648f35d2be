// IP families as Kubernetes spells them (Service.spec.ipFamilies, kube-proxy's ip_family label).

export type IPFamily = 'IPv4' | 'IPv6';
export const IP_FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];
