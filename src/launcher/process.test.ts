// SupervisedProcess: restarts with backoff, stops whole process groups, logs; the orphan guard.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Backoff } from './backoff.js';
import { pidAlive } from './pids.js';
import { SupervisedProcess, type ExitInfo } from './process.js';
import { waitFor } from './wait.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-process-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const node = process.execPath;

/** A child that starts a grandchild (in its process group) and prints both pids. */
const FAMILY = `
const { spawn } = require('node:child_process');
const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log(JSON.stringify({ child: process.pid, grandchild: g.pid }));
setInterval(() => {}, 1000);
`;

function spec(name: string, code: string, extra: Partial<{ guard: boolean }> = {}) {
  return {
    name,
    command: [node, '-e', code],
    cwd: tmp,
    env: process.env,
    logFile: path.join(tmp, `${name}.log`),
    ...extra,
  };
}

async function pidsFromLog(file: string): Promise<{ child: number; grandchild: number }> {
  let found: { child: number; grandchild: number } | undefined;
  await waitFor(
    () => {
      const line = readFileSync(file, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('{'));
      if (line) found = JSON.parse(line) as { child: number; grandchild: number };
      return found !== undefined;
    },
    { timeoutMs: 20_000, what: `pids in ${file}` },
  );
  return found!;
}

test('Backoff doubles from 0.5 s to 30 s and resets after a 60 s run', () => {
  const b = new Backoff();
  const delays = Array.from({ length: 9 }, () => b.delayAfter(100));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(b.delayAfter(60_000), 500);
  assert.equal(b.delayAfter(10), 1000);
});

test('a crashing child is restarted with growing delays, and its output is logged', async () => {
  const proc = new SupervisedProcess(spec('crasher', 'console.log("crashing"); process.exit(3)'), {
    backoff: { initialMs: 20, maxMs: 80 },
  });
  const exits: ExitInfo[] = [];
  proc.on('exit', (e: ExitInfo) => exits.push(e));
  proc.start();
  await waitFor(() => exits.length >= 4, { timeoutMs: 30_000, what: 'four exits' });
  await proc.stop();
  assert.deepEqual(
    exits.slice(0, 4).map((e) => [e.code, e.restartInMs]),
    [
      [3, 20],
      [3, 40],
      [3, 80],
      [3, 80],
    ],
  );
  assert.ok(proc.starts >= 4);
  const log = readFileSync(path.join(tmp, 'crasher.log'), 'utf8');
  assert.ok((log.match(/^crashing$/gm) ?? []).length >= 4, log);
  assert.match(log, /exited \(code 3\) after \d+ ms; restarting in 20 ms/);
});

test('no restart once stopped, and restart: false means one run', async () => {
  const proc = new SupervisedProcess(spec('once', 'process.exit(0)'), { restart: false });
  const exited = new Promise<ExitInfo>((r) => proc.once('exit', r));
  proc.start();
  const info = await exited;
  assert.equal(info.restartInMs, undefined);
  assert.equal(proc.state, 'idle');
  await proc.stop();
  assert.equal(proc.starts, 1);
});

test('stop() ends the child and its grandchild (the whole process group)', async () => {
  const proc = new SupervisedProcess(spec('family', FAMILY));
  proc.start();
  const pids = await pidsFromLog(path.join(tmp, 'family.log'));
  assert.ok(pidAlive(pids.child) && pidAlive(pids.grandchild));
  await proc.stop();
  // pidAlive: process.kill(pid, 0) throws, or the pid is a zombie awaiting a late reaper.
  assert.ok(!pidAlive(pids.child), 'child gone');
  assert.ok(!pidAlive(pids.grandchild), 'grandchild gone');
});

test('stop() sends SIGKILL to a child that ignores SIGTERM', async () => {
  const proc = new SupervisedProcess(
    spec(
      'stubborn',
      'process.on("SIGTERM", () => {}); console.log("ign" + "oring"); setInterval(() => {}, 1000)',
    ),
    { stopTimeoutMs: 300 },
  );
  proc.start();
  await waitFor(() => /^ignoring$/m.test(readFileSync(path.join(tmp, 'stubborn.log'), 'utf8')), {
    timeoutMs: 20_000,
  });
  const pid = proc.pid!;
  await proc.stop();
  assert.ok(!pidAlive(pid));
  assert.match(readFileSync(path.join(tmp, 'stubborn.log'), 'utf8'), /SIGKILL/);
});

test('a crash takes what the child left in its group with it before the restart', async () => {
  // First run: start a grandchild and crash; the grandchild must not outlive the crash.
  const code = `${FAMILY.replace('setInterval(() => {}, 1000);', '')} setTimeout(() => process.exit(1), 50);`;
  const proc = new SupervisedProcess(spec('leaver', code), { backoff: { initialMs: 10_000 } });
  const exited = new Promise<ExitInfo>((r) => proc.once('exit', r));
  proc.start();
  const pids = await pidsFromLog(path.join(tmp, 'leaver.log'));
  await exited;
  await waitFor(() => !pidAlive(pids.grandchild), { timeoutMs: 10_000, what: 'grandchild gone' });
  await proc.stop();
});

test('the orphan guard ends an app and its children when the launcher is SIGKILLed', async () => {
  // A stand-in launcher: supervises a guarded app (which starts a grandchild), prints its pids.
  const launcher = `
    import { SupervisedProcess } from ${JSON.stringify(path.resolve(import.meta.dirname, 'process.ts'))};
    const proc = new SupervisedProcess({
      name: 'app', command: [process.execPath, '-e', ${JSON.stringify(FAMILY)}],
      cwd: ${JSON.stringify(tmp)}, env: process.env, guard: true,
      logFile: ${JSON.stringify(path.join(tmp, 'guarded.log'))},
    }, { echo: (line) => console.log(line) });
    proc.start();
  `;
  const child = spawn(node, ['--import', 'tsx', '--input-type=module', '-e', launcher], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let pids: { child: number; grandchild: number } | undefined;
  await waitFor(
    () => {
      const m = /\[app\] (\{.*\})/.exec(out);
      if (m) pids = JSON.parse(m[1]!) as { child: number; grandchild: number };
      return pids !== undefined;
    },
    { timeoutMs: 30_000, what: 'the guarded app to start' },
  );
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  await waitFor(() => !pidAlive(pids!.child) && !pidAlive(pids!.grandchild), {
    timeoutMs: 15_000,
    what: 'the orphaned app and its child to exit',
  });
});
