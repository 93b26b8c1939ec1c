// How long-running commands (control-plane, proxy) end: on SIGTERM/SIGINT, and with
// --exit-with-parent also when the launcher that started them goes away, even by SIGKILL.
import type { CliIO } from './io.js';

export interface ServeOptions {
  /** Exit when stdin reaches EOF: the launcher holds the other end of that pipe, and the kernel
   * closes it whatever way the launcher dies, so no child outlives it. */
  readonly exitWithParent: boolean;
  /** How long close() may take before we exit anyway (default 4 s, under the launcher's 5 s). */
  readonly closeTimeoutMs?: number;
  readonly io: CliIO;
  readonly name: string;
  /** Another reason to stop (a proxy's admin /quitquitquit). */
  readonly until?: { readonly promise: Promise<unknown>; readonly why: string };
}

/** Resolves with the exit code once a stop reason came and `close` finished (or timed out). */
export function serveUntilStopped(close: () => Promise<void>, opts: ServeOptions): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) return;
      stopping = true;
      opts.io.error(`${opts.name}: ${why}, shutting down`);
      const timer = setTimeout(() => {
        opts.io.error(`${opts.name}: close did not finish in time; exiting`);
        resolve(1);
      }, opts.closeTimeoutMs ?? 4000);
      close().then(
        () => {
          clearTimeout(timer);
          resolve(0);
        },
        (err: unknown) => {
          clearTimeout(timer);
          opts.io.error(`${opts.name}: close failed: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    opts.until?.promise.then(() => stop(opts.until?.why ?? 'asked to quit'));
    if (opts.exitWithParent) {
      const stdin = process.stdin;
      stdin.once('end', () => stop('parent exited (stdin closed)'));
      stdin.once('error', () => stop('parent exited (stdin error)'));
      stdin.on('data', () => {}); // nothing is ever sent; reading is how EOF is seen
      stdin.resume();
    }
  });
}
