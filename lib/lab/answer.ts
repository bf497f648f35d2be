// The one-line answer an echo server gives: "<pod name> <peer address as the pod saw it>".

export interface Answer {
  backend: string;
  sawSource: string;
}

/** The address without the "::ffff:" a dual-stack socket puts before IPv4 peers. */
export function plainAddress(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function formatAnswer(podName: string, peerAddress: string): string {
  return `${podName} ${plainAddress(peerAddress)}\n`;
}

/** The answer in a server's reply, or null when the reply is not one. */
export function parseAnswer(text: string): Answer | null {
  const m = /^(\S+) (\S+)\n?$/.exec(text);
  return m ? { backend: m[1], sawSource: m[2] } : null;
}
