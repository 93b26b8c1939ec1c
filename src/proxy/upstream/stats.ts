// Per-cluster counters with Envoy's stat names (cluster.<name>.upstream_rq_total, ...,
// cluster.<name>.outlier_detection.ejections_active, cluster.<name>.circuit_breakers.default.*).
// They outlive cluster updates: a changed cluster keeps counting where the old one stopped.

/** Envoy's outlier_detection.* counters (the gauge ejections_active comes from the detector). */
export class OutlierStats {
  ejections_total = 0;
  ejections_overflow = 0;
  ejections_consecutive_5xx = 0;
  ejections_enforced_total = 0;
  ejections_detected_consecutive_5xx = 0;
  ejections_enforced_consecutive_5xx = 0;
  ejections_detected_consecutive_gateway_failure = 0;
  ejections_enforced_consecutive_gateway_failure = 0;
  ejections_detected_consecutive_local_origin_failure = 0;
  ejections_enforced_consecutive_local_origin_failure = 0;
}

export class ClusterStats {
  upstream_rq_total = 0;
  upstream_rq_active = 0;
  upstream_rq_2xx = 0;
  upstream_rq_3xx = 0;
  upstream_rq_4xx = 0;
  upstream_rq_5xx = 0;
  upstream_rq_retry = 0;
  upstream_rq_retry_success = 0;
  upstream_rq_retry_overflow = 0;
  upstream_rq_retry_limit_exceeded = 0;
  upstream_rq_timeout = 0;
  upstream_rq_per_try_timeout = 0;
  upstream_rq_pending_total = 0;
  upstream_rq_pending_active = 0;
  upstream_rq_pending_overflow = 0;
  upstream_rq_pending_failure_eject = 0;
  upstream_cx_total = 0;
  upstream_cx_active = 0;
  upstream_cx_connect_fail = 0;
  upstream_cx_connect_timeout = 0;
  upstream_cx_overflow = 0;
  upstream_cx_destroy_remote = 0;
  upstream_cx_idle_timeout = 0;
  upstream_cx_max_requests = 0;
  upstream_cx_max_duration_reached = 0;
  upstream_cx_none_healthy = 0;
  lb_healthy_panic = 0;
  readonly outlier = new OutlierStats();

  recordStatus(status: number): void {
    if (status < 300) this.upstream_rq_2xx++;
    else if (status < 400) this.upstream_rq_3xx++;
    else if (status < 500) this.upstream_rq_4xx++;
    else this.upstream_rq_5xx++;
  }

  /** Every counter by its Envoy name under `cluster.<name>.`. */
  entries(): [string, number][] {
    const out: [string, number][] = [];
    for (const [k, v] of Object.entries(this)) if (typeof v === 'number') out.push([k, v]);
    for (const [k, v] of Object.entries(this.outlier))
      out.push([`outlier_detection.${k}`, v as number]);
    return out;
  }
}
