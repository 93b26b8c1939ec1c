// Restart delays for a crashing process: exponential, capped, forgiven after a long enough run.

export interface BackoffOptions {
  /** First delay (ms). */
  readonly initialMs?: number;
  /** Cap (ms). */
  readonly maxMs?: number;
  /** A run at least this long (ms) resets the delay to initialMs. */
  readonly resetAfterMs?: number;
}

/** 0.5 s, 1 s, 2 s, ... 30 s; back to 0.5 s once a run lasted 60 s (as kubelet's CrashLoopBackOff). */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly resetAfterMs: number;
  private next: number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.resetAfterMs = opts.resetAfterMs ?? 60_000;
    this.next = this.initialMs;
  }

  /** Forgets past crashes (a deliberate stop and start). */
  reset(): void {
    this.next = this.initialMs;
  }

  /** The delay before the next start, given how long the run that just ended lasted. */
  delayAfter(runMs: number): number {
    if (runMs >= this.resetAfterMs) this.next = this.initialMs;
    const delay = this.next;
    this.next = Math.min(this.next * 2, this.maxMs);
    return delay;
  }
}
