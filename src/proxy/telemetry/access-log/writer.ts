// Where access log lines go: one buffered writer per path for the whole proxy (config updates
// reuse it). Lines are batched and written on the next turn of the event loop: files through an
// fs stream (writes run off the event loop), /dev/stdout and /dev/stderr through the process's
// own streams (a supervisor's pipe or socket, which cannot be reopened by path and which Node
// keeps non-blocking), so logging never blocks a request. When the file cannot
// keep up the newest lines are dropped and counted rather than queued without bound; on a write
// error the file is reopened after a pause (log rotation, a deleted file).
import fs from 'node:fs';
import type { Writable } from 'node:stream';

/** Bytes queued in the stream past which lines are dropped (Envoy's buffer is 64 KiB a file). */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
const REOPEN_DELAY_MS = 1000;

export class AccessLogWriter {
  private stream: Writable | undefined;
  private batch: string[] = [];
  private scheduled = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  /** Lines lost to a full buffer or a failed file (for the admin page and tests). */
  dropped = 0;
  written = 0;
  lastError: string | undefined;

  constructor(readonly path: string) {
    this.open();
  }

  private open(): void {
    const std =
      this.path === '/dev/stdout'
        ? process.stdout
        : this.path === '/dev/stderr'
          ? process.stderr
          : undefined;
    if (std) {
      std.on('error', (e) => (this.lastError = e.message));
      this.stream = std;
      return;
    }
    const s = fs.createWriteStream(this.path, { flags: 'a' });
    s.on('error', (e) => {
      this.lastError = e.message;
      if (this.stream === s) this.stream = undefined;
      s.destroy();
      this.reopenTimer ??= setTimeout(() => {
        this.reopenTimer = undefined;
        this.open();
      }, REOPEN_DELAY_MS).unref();
    });
    this.stream = s;
  }

  write(line: string): void {
    if (!this.stream || this.stream.writableLength > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    this.batch.push(line);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const lines = this.batch;
    this.batch = [];
    if (!this.stream) {
      this.dropped += lines.length;
      return;
    }
    this.stream.write(lines.join(''));
    this.written += lines.length;
  }

  /** Writes what is batched and closes the file (proxy shutdown, tests). */
  close(): Promise<void> {
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    if (this.batch.length) this.flush();
    const s = this.stream;
    this.stream = undefined;
    if (!s || s === process.stdout || s === process.stderr) return Promise.resolve();
    return new Promise((resolve) => s.end(resolve));
  }
}

const writers = new Map<string, AccessLogWriter>();

/** The proxy's writer for `path`, opened on first use and shared by every access log naming it. */
export function accessLogWriter(path: string): AccessLogWriter {
  let w = writers.get(path);
  if (!w) {
    w = new AccessLogWriter(path);
    writers.set(path, w);
  }
  return w;
}

/** Closes every writer (tests; a proxy exiting). */
export async function closeAccessLogWriters(): Promise<void> {
  const all = [...writers.values()];
  writers.clear();
  await Promise.all(all.map((w) => w.close()));
}
