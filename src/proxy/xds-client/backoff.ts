// Jittered exponential backoff between reconnection attempts (gRPC's connection-backoff shape:
// grow the delay each failure, spread it ±20% so that proxies do not reconnect in lockstep).

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000 };

const MULTIPLIER = 2;
const JITTER = 0.2;

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #currentMs: number;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#initialMs = Math.max(1, options.initialMs);
    this.#maxMs = Math.max(this.#initialMs, options.maxMs);
    this.#random = random;
    this.#currentMs = this.#initialMs;
  }

  /** The delay before the next attempt; each call grows the one after it, up to maxMs. */
  next(): number {
    const base = this.#currentMs;
    this.#currentMs = Math.min(this.#maxMs, this.#currentMs * MULTIPLIER);
    const spread = base * JITTER * (this.#random() * 2 - 1);
    return Math.max(0, Math.round(Math.min(this.#maxMs, base + spread)));
  }

  /** After a healthy stream: the next failure starts again from initialMs. */
  reset(): void {
    this.#currentMs = this.#initialMs;
  }
}
