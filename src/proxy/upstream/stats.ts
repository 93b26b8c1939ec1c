// Per-cluster counters with Envoy's stat names (cluster.<name>.upstream_rq_total, ...).

export class ClusterStats {
  upstream_rq_total = 0;
  upstream_rq_active = 0;
  upstream_rq_2xx = 0;
  upstream_rq_3xx = 0;
  upstream_rq_4xx = 0;
  upstream_rq_5xx = 0;
  upstream_rq_retry = 0;
  upstream_rq_retry_limit_exceeded = 0;
  upstream_rq_timeout = 0;
  upstream_rq_per_try_timeout = 0;
  upstream_rq_pending_overflow = 0;
  upstream_cx_connect_fail = 0;
  upstream_cx_destroy_remote = 0;
  upstream_cx_none_healthy = 0;

  recordStatus(status: number): void {
    if (status < 300) this.upstream_rq_2xx++;
    else if (status < 400) this.upstream_rq_3xx++;
    else if (status < 500) this.upstream_rq_4xx++;
    else this.upstream_rq_5xx++;
  }

  entries(): [string, number][] {
    return Object.entries(this).filter((e): e is [string, number] => typeof e[1] === 'number');
  }
}
