// Waiting on a condition with a deadline (never a bare sleep): polls with a short growing interval.
import { LauncherError } from './errors.js';

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Named in the timeout error. */
  readonly what?: string;
  /** First poll interval (ms), doubling up to maxIntervalMs. */
  readonly intervalMs?: number;
  readonly maxIntervalMs?: number;
  readonly signal?: AbortSignal;
}

/** Resolves once `check` returns true; rejects with ERR_START_TIMEOUT at the deadline. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  opts: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let interval = opts.intervalMs ?? 20;
  const maxInterval = opts.maxIntervalMs ?? 250;
  while (true) {
    opts.signal?.throwIfAborted();
    if (await check()) return;
    if (Date.now() >= deadline) {
      throw new LauncherError(
        'ERR_START_TIMEOUT',
        `timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'a condition'}`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(1, deadline - Date.now()))));
    interval = Math.min(interval * 2, maxInterval);
  }
}
