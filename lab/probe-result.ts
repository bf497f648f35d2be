// What a probe reports: the answers it got and how the other attempts failed.
import type { Answer } from './answer.ts';

export type Outcome =
  | { kind: 'answer'; answer: Answer }
  | { kind: 'refused' }
  | { kind: 'timedOut' }
  | { kind: 'unreachable' }
  | { kind: 'error'; message: string };

export interface ProbeResult {
  answers: Answer[];
  refused: number;
  timedOut: number;
  unreachable: number;
  errors: string[];
}

/**
 * How a socket error counts. ECONNREFUSED is a TCP reset or an ICMP port-unreachable; the
 * unreachable ones are ICMP host/net unreachable or admin-prohibited (EACCES for IPv6,
 * EHOSTUNREACH for IPv4) and EPERM, what a local UDP send gets when an output rule drops it.
 *
 * Seen in the lab: an ICMP error for a TCP SYN can arrive while connect() still holds the
 * socket (the whole path runs at once on one machine), and Linux then keeps it as a soft error,
 * so the verdict comes with the SYN's retransmission 1 s later; a SYN dropped by an output rule
 * just times out.
 */
export function outcomeOfError(err: { code?: string; message: string }): Outcome {
  switch (err.code) {
    case 'ECONNREFUSED':
      return { kind: 'refused' };
    case 'ETIMEDOUT':
      return { kind: 'timedOut' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EACCES':
    case 'EPERM':
      return { kind: 'unreachable' };
    default:
      return { kind: 'error', message: err.code ? `${err.code}: ${err.message}` : err.message };
  }
}

export function tally(outcomes: Outcome[]): ProbeResult {
  const result: ProbeResult = { answers: [], refused: 0, timedOut: 0, unreachable: 0, errors: [] };
  for (const o of outcomes) {
    if (o.kind === 'answer') result.answers.push(o.answer);
    else if (o.kind === 'error') result.errors.push(o.message);
    else result[o.kind]++;
  }
  return result;
}
