// Per-listener counters with Envoy's names (listener.<address>.downstream_cx_total, http.<prefix>.downstream_rq_*).

export class ListenerStats {
  downstream_cx_total = 0;
  downstream_cx_active = 0;
  downstream_rq_total = 0;
  downstream_rq_active = 0;
  downstream_rq_2xx = 0;
  downstream_rq_3xx = 0;
  downstream_rq_4xx = 0;
  downstream_rq_5xx = 0;
  /** Connections no filter chain matched (closed, as Envoy does). */
  no_filter_chain_match = 0;
  /** TLS handshakes completed (Envoy: listener.<address>.ssl.handshake). */
  'ssl.handshake' = 0;
  /** TLS handshakes that failed: garbage, version, certificate, timeout (ssl.connection_error). */
  'ssl.connection_error' = 0;
  /** HTTP filter counters by `<stat_prefix>.<filter>.<name>` (admin: `http.<key>`). */
  readonly filterCounters = new Map<string, number>();

  recordStatus(status: number): void {
    if (status < 300) this.downstream_rq_2xx++;
    else if (status < 400) this.downstream_rq_3xx++;
    else if (status < 500) this.downstream_rq_4xx++;
    else this.downstream_rq_5xx++;
  }

  entries(): [string, number][] {
    return Object.entries(this).filter((e): e is [string, number] => typeof e[1] === 'number');
  }
}
