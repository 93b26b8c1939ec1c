// A cluster's circuit breakers (Envoy's ResourceManagerImpl, DEFAULT priority): connections,
// pending requests, active requests and active retries, each against its threshold; a retry
// budget, when set, replaces max_retries with a share of the live requests.
import type { Thresholds } from '../cluster-config.js';

export class Resources {
  connections = 0;
  pending = 0;
  requests = 0;
  retries = 0;

  constructor(readonly thresholds: Thresholds) {}

  canCreateConnection(): boolean {
    return this.connections < this.thresholds.maxConnections;
  }

  canQueue(): boolean {
    return this.pending < this.thresholds.maxPendingRequests;
  }

  canSendRequest(): boolean {
    return this.requests < this.thresholds.maxRequests;
  }

  /**
   * Envoy's RetryBudgetImpl::max: budget_percent of (active + pending requests), never below
   * min_retry_concurrency; max_retries when there is no budget.
   */
  maxRetries(): number {
    const budget = this.thresholds.retryBudget;
    if (!budget) return this.thresholds.maxRetries;
    const live = this.requests + this.pending;
    return Math.max(Math.floor((budget.budgetPercent / 100) * live), budget.minRetryConcurrency);
  }

  canRetry(): boolean {
    return this.retries < this.maxRetries();
  }

  /** Envoy's circuit_breakers.default.* gauges (remaining_* only with track_remaining). */
  gauges(): [string, number][] {
    const t = this.thresholds;
    const open = (used: number, max: number) => (used >= max ? 1 : 0);
    const maxRetries = this.maxRetries();
    const out: [string, number][] = [
      ['cx_open', open(this.connections, t.maxConnections)],
      ['rq_pending_open', open(this.pending, t.maxPendingRequests)],
      ['rq_open', open(this.requests, t.maxRequests)],
      ['rq_retry_open', open(this.retries, maxRetries)],
    ];
    if (t.trackRemaining) {
      const left = (used: number, max: number) => Math.max(0, max - used);
      out.push(
        ['remaining_cx', left(this.connections, t.maxConnections)],
        ['remaining_pending', left(this.pending, t.maxPendingRequests)],
        ['remaining_rq', left(this.requests, t.maxRequests)],
      );
      // Envoy does not track the remaining retries of a budget.
      if (!t.retryBudget) out.push(['remaining_retries', left(this.retries, maxRetries)]);
    }
    return out;
  }
}
