// One upstream endpoint with the counters load balancing and the admin page read.
import type { HostSpec } from './assignment.js';

export class Host {
  readonly key: string;
  /** Requests in flight to this host (least-request balancing reads it). */
  activeRequests = 0;
  requestsTotal = 0;
  errorsTotal = 0;

  constructor(readonly spec: HostSpec) {
    this.key = hostKey(spec.address, spec.port);
  }

  get address(): string {
    return this.spec.address;
  }

  get port(): number {
    return this.spec.port;
  }
}

export function hostKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
