// One request's dealings with its cluster across attempts, for the router: the hash policy's
// key (and the cookie it may issue), the circuit breakers (overflow answers 503 UO at once; a
// retry takes one of max_retries or of the retry budget, held until its attempt ends, as
// Envoy's RetryStateImpl), and what each attempt tells outlier detection.
import type { ProxyError } from '../errors.js';
import type { HttpStream } from '../http/stream.js';
import type { Cluster, HostContext } from './cluster.js';
import type { Host } from './host.js';
import type { HashPolicy, HashResult } from './lb/hash-policy.js';

export class UpstreamRequestState {
  private readonly hash: HashResult | undefined;
  private held = false;
  private retryDecided = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly stream: HttpStream,
    hashPolicy: HashPolicy | undefined,
  ) {
    if (!hashPolicy) return;
    const socket = stream.req.socket;
    this.hash = hashPolicy.compute({
      headers: stream.req.headers,
      authority: stream.view.authority,
      path: stream.view.path,
      query: stream.view.query,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
    });
  }

  /** What the cluster's load balancer sees for one attempt. */
  context(exclude: ReadonlySet<Host> | undefined): HostContext {
    const authority = this.stream.view.authority;
    const headers = this.stream.req.headers;
    const hash = this.hash?.hash;
    // The common case (no exclusion, no hash) is one small object, no spread temporaries.
    if (!exclude && hash === undefined) return { authority, headers };
    return {
      authority,
      headers,
      ...(exclude ? { exclude } : {}),
      ...(hash !== undefined ? { hash } : {}),
    };
  }

  /** The circuit breakers' verdict on an attempt to `host` (a ProxyError = overflow, UO). */
  admit(host: Host): ProxyError | undefined {
    const overflow = this.cluster.admit(host);
    if (overflow) this.end();
    return overflow;
  }

  /**
   * A retry is wanted: releases the retry this request held, then takes one if the retry
   * circuit breaker allows; when it does not, the response is marked UO and the failure stands.
   */
  retry(): boolean {
    this.retryDecided = true;
    if (this.held) {
      this.held = false;
      this.cluster.retryDone();
    }
    if (!this.cluster.tryRetry()) {
      this.stream.responseFlags.add('UO');
      return false;
    }
    this.held = true;
    return true;
  }

  /** An upstream status (retried or relayed). */
  status(host: Host, status: number): void {
    this.cluster.reportStatus(host, status);
    if (this.held && !this.retryDecided && status < 500)
      this.cluster.stats.upstream_rq_retry_success++;
  }

  /** A failure before any response: connect failure, reset, timeout (not overflow, not the client). */
  failure(host: Host, err: ProxyError): void {
    if (err.flag === 'UT') this.cluster.reportFailure(host, 'timeout');
    else if (err.flag === 'UF' || err.flag === 'UC')
      this.cluster.reportFailure(host, 'connect-failed');
  }

  /** An attempt ended: unless it decided a retry, the request is over. */
  attemptEnded(): void {
    if (!this.retryDecided) this.end();
    this.retryDecided = false;
  }

  /** The request is over: a retry still held goes back. */
  end(): void {
    if (this.held) {
      this.held = false;
      this.cluster.retryDone();
    }
  }

  /** Adds the Set-Cookie a cookie hash policy issued to the response's flat header list. */
  decorate(headers: string[]): void {
    if (this.hash?.setCookie) headers.push('set-cookie', this.hash.setCookie);
  }
}
