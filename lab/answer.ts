// The one-line answer an echo server gives: "<pod name> <peer address as the pod saw it> <port it
// was reached on>", so a probe learns the backend, whether its source was rewritten, and the target port.

export interface Answer {
  backend: string;
  sawSource: string;
  port: number;
}

/** The address without the "::ffff:" a dual-stack socket puts before IPv4 peers. */
export function plainAddress(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function formatAnswer(podName: string, peerAddress: string, localPort: number): string {
  return `${podName} ${plainAddress(peerAddress)} ${localPort}\n`;
}

/** The answer in a server's reply, or null when the reply is not one. */
export function parseAnswer(text: string): Answer | null {
  const m = /^(\S+) (\S+) ([0-9]+)\n?$/.exec(text);
  return m ? { backend: m[1], sawSource: m[2], port: Number(m[3]) } : null;
}
