// A real Prometheus for tests (Debian's package, /usr/bin/prometheus): its own temp dir and
// storage, a loopback port from the launcher's allocator, the config the control plane serves,
// and its HTTP API (targets, instant queries). Everything waits by polling with a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PortAllocator } from '../../src/launcher/ports.js';
import { eventually } from './skiff.js';

export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';

export function prometheusInstalled(): boolean {
  return existsSync(PROMETHEUS_BIN);
}

export interface PromTarget {
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
}

export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

interface ApiAnswer<T> {
  readonly status: 'success' | 'error';
  readonly data: T;
  readonly error?: string;
}

export class Prometheus {
  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly url: string,
    private readonly logFile: string,
  ) {}

  /** Starts Prometheus with `config` (a prometheus.yml) and waits until it is ready. */
  static async start(config: string, timeoutMs = 60_000): Promise<Prometheus> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-prometheus-'));
    writeFileSync(path.join(dir, 'prometheus.yml'), config);
    const ports = new PortAllocator();
    const port = await ports.allocate();
    const logFile = path.join(dir, 'prometheus.log');
    const out = openSync(logFile, 'a');
    const child = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { cwd: dir, stdio: ['ignore', out, out] },
    );
    closeSync(out); // the child has its own copy
    const prom = new Prometheus(child, dir, `http://127.0.0.1:${port}`, logFile);
    try {
      await eventually(
        'Prometheus to be ready',
        async () => {
          if (child.exitCode !== null) throw new Error(`Prometheus exited: ${prom.logTail()}`);
          const res = await fetch(`${prom.url}/-/ready`).catch(() => undefined);
          return res?.status === 200;
        },
        timeoutMs,
      );
    } catch (e) {
      await prom.stop();
      throw e;
    } finally {
      ports.release(); // Prometheus holds the port now (or never will)
    }
    return prom;
  }

  logTail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private async api<T>(pathAndQuery: string): Promise<T> {
    const res = await fetch(`${this.url}${pathAndQuery}`);
    const body = (await res.json()) as ApiAnswer<T>;
    if (body.status !== 'success') throw new Error(`${pathAndQuery}: ${body.error ?? res.status}`);
    return body.data;
  }

  async activeTargets(): Promise<PromTarget[]> {
    const data = await this.api<{ activeTargets: PromTarget[] }>('/api/v1/targets?state=active');
    return data.activeTargets;
  }

  /** An instant query's vector. */
  async query(promql: string): Promise<PromSample[]> {
    const data = await this.api<{ resultType: string; result: PromSample[] }>(
      `/api/v1/query?query=${encodeURIComponent(promql)}`,
    );
    if (data.resultType !== 'vector')
      throw new Error(`${promql}: a ${data.resultType}, not a vector`);
    return data.result;
  }

  /** label value → number, of a query grouped by one label. */
  async queryBy(promql: string, label: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const s of await this.query(promql)) out.set(s.metric[label] ?? '', Number(s.value[1]));
    return out;
  }

  /** The single value of a query (undefined when the vector is empty). */
  async scalar(promql: string): Promise<number | undefined> {
    const r = await this.query(promql);
    if (r.length > 1) throw new Error(`${promql}: ${r.length} series, expected one`);
    return r[0] ? Number(r[0].value[1]) : undefined;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
