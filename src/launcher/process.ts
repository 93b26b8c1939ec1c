// One supervised child process: its own process group, logs to a file (and the terminal when
// verbose), restarted with backoff when it dies, stopped with TERM then KILL of the whole group.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Backoff, type BackoffOptions } from './backoff.js';
import { guarded } from './guard.js';
import { groupAlive } from './pids.js';
import { waitFor } from './wait.js';

export interface ProcessSpec {
  /** Log prefix and log file name, e.g. `reviews-v1-0` or `reviews-v1-0.sidecar`. */
  readonly name: string;
  /** argv; the first element is looked up on PATH. */
  readonly command: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  /** Run under the orphan guard (for commands that do not watch their stdin themselves). */
  readonly guard?: boolean;
  /** Called right before each spawn (a proxy's fresh bootstrap token); throwing fails it. */
  readonly beforeStart?: () => void;
}

export interface SuperviseOptions {
  readonly backoff?: BackoffOptions;
  /** Restart after an exit (default true). */
  readonly restart?: boolean;
  /** Where each output line also goes, prefixed `[name] ` (the terminal with --verbose). */
  readonly echo?: (line: string) => void;
  /** How long stop() waits after TERM before KILL (default 5 s). */
  readonly stopTimeoutMs?: number;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly runMs: number;
  /** Delay before the restart, absent when it will not restart. */
  readonly restartInMs?: number;
}

export type ProcessState = 'idle' | 'running' | 'backoff' | 'stopped';

/** Events: `start` (pid), `exit` (ExitInfo). */
export class SupervisedProcess extends EventEmitter {
  private child: ChildProcess | undefined;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Set while stop() runs; a start() after it has finished starts the process afresh. */
  private stopDone: Promise<void> | undefined;
  private readonly backoff: Backoff;
  private log: WriteStream;
  private readonly echo: LineEcho | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** How many times it was started. */
  starts = 0;

  constructor(
    readonly spec: ProcessSpec,
    private readonly opts: SuperviseOptions = {},
  ) {
    super();
    this.backoff = new Backoff(opts.backoff);
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    // Opened now, not when the stream gets round to it: the file exists once we return.
    this.log = this.openLog();
    this.echo = opts.echo ? new LineEcho(`[${spec.name}] `, opts.echo) : undefined;
  }

  private openLog(): WriteStream {
    const log = createWriteStream('', { fd: openSync(this.spec.logFile, 'a') });
    log.on('error', () => {}); // a log we cannot write must not take the launcher down
    return log;
  }

  /** The running process's pid (also its process group id). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get state(): ProcessState {
    if (this.stopping) return 'stopped';
    if (this.child) return 'running';
    return this.timer ? 'backoff' : 'idle';
  }

  /** Starts the process; after a completed stop() it starts again (supervision resumes). */
  start(): void {
    if (this.child) return;
    if (this.stopping) {
      if (!this.stopDone) return; // stop() is still running
      this.stopping = false;
      this.stopDone = undefined;
      this.backoff.reset();
      this.log = this.openLog();
    }
    this.timer = undefined;
    try {
      this.spec.beforeStart?.();
    } catch (err) {
      this.note(`before start: ${(err as Error).message}`);
    }
    const argv = this.spec.guard ? guarded(this.spec.command) : [...this.spec.command];
    const [file = '', ...args] = argv;
    // detached: the child calls setsid(), so it leads its own process group and a signal to
    // -pid reaches its children too; the stdin pipe is what children watch to die with us.
    const child = spawn(file, args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts++;
    this.startedAt = Date.now();
    child.stdin?.on('error', () => {}); // we never write; EPIPE after the child exits is fine
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        if (!this.log.writableEnded) this.log.write(chunk);
        this.echo?.write(chunk);
      });
    }
    let done = false;
    let resolveExited: () => void = () => {};
    this.exited = new Promise((r) => (resolveExited = r));
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      this.onExit(child, code, signal);
      resolveExited();
    };
    child.on('error', (err) => {
      this.note(`failed to start ${argv.join(' ')}: ${err.message}`);
      if (child.pid === undefined) finish(127, null);
    });
    child.on('exit', (code, signal) => finish(code, signal));
    if (child.pid !== undefined) {
      this.note(`started pid ${child.pid}: ${this.spec.command.join(' ')}`);
      this.emit('start', child.pid);
    }
  }

  /** TERM to the process group, KILL after the timeout; resolves once the group is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const pgid = this.child?.pid;
    if (pgid !== undefined) {
      signalGroup(pgid, 'SIGTERM');
      const gone = await waitFor(() => !this.child && !groupAlive(pgid), {
        timeoutMs: this.opts.stopTimeoutMs ?? 5000,
      }).then(
        () => true,
        () => false,
      );
      if (!gone) {
        this.note(`still running ${this.opts.stopTimeoutMs ?? 5000} ms after SIGTERM: SIGKILL`);
        signalGroup(pgid, 'SIGKILL');
        await this.exited;
        await waitFor(() => !groupAlive(pgid), { timeoutMs: 5000 }).catch(() => {});
      }
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
    this.stopDone = Promise.resolve();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.child = undefined;
    const runMs = Date.now() - this.startedAt;
    // Whatever the child left in its group (its own children) goes with it, so that a restart
    // finds its ports free.
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    child.stdin?.destroy();
    const restart = !this.stopping && this.opts.restart !== false;
    const restartInMs = restart ? this.backoff.delayAfter(runMs) : undefined;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!this.stopping) {
      this.note(
        `exited (${how}) after ${runMs} ms` +
          (restartInMs !== undefined ? `; restarting in ${restartInMs} ms` : ''),
      );
    }
    if (restartInMs !== undefined) {
      this.timer = setTimeout(() => this.start(), restartInMs);
    }
    this.emit('exit', {
      code,
      signal,
      runMs,
      ...(restartInMs !== undefined ? { restartInMs } : {}),
    } satisfies ExitInfo);
  }

  /** A launcher line in the log (and the terminal when verbose). */
  private note(message: string): void {
    const line = `--- skiff: ${message}\n`;
    if (!this.log.writableEnded) this.log.write(line);
    this.echo?.write(Buffer.from(line));
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already empty
  }
}

/** Splits output into lines and hands each on with a prefix. */
class LineEcho {
  private partial = '';
  constructor(
    private readonly prefix: string,
    private readonly out: (line: string) => void,
  ) {}

  write(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.out(this.prefix + line);
  }
}
