import type { Problem } from './types.ts';

/** An object failed validation: carries the reason code and a message for the warning. */
export class InvalidObject extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export function invalid(reason: string, message: string): never {
  throw new InvalidObject(reason, message);
}

export class Problems {
  readonly list: Problem[] = [];
  add(kind: string, object: string, reason: string, message: string, scope?: Problem['scope']): void {
    this.list.push(scope ? { kind, object, reason, message, scope } : { kind, object, reason, message });
  }
}
