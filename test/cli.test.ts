// The skiff command as a user runs it: exit codes (0, 1 with `skiff: <message>`, 2 for usage),
// and the long-running commands ending on SIGTERM or when their parent's pipe closes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { waitFor } from '../src/launcher/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SKIFF = [
  process.execPath,
  '--import',
  import.meta.resolve('tsx'),
  path.join(ROOT, 'src/cli/main.ts'),
];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-cli-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function skiff(args: string[], cwd = tmp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [cmd = '', ...rest] = SKIFF;
    const child = spawn(cmd, [...rest, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a long-running command with stdin as a pipe we hold (as the launcher does). */
function serve(args: string[]) {
  const [cmd = '', ...rest] = SKIFF;
  const child = spawn(cmd, [...rest, ...args], { cwd: tmp, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, exited, stderr: () => stderr };
}

describe('exit codes and messages', () => {
  test('version prints the version, exit 0', async () => {
    const run = await skiff(['version']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^skiff \d+\.\d+\.\d+/);
  });

  test('usage errors exit 2 with one skiff: line', async () => {
    const unknown = await skiff(['frob']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^skiff: unknown command 'frob'/);
    const missing = await skiff(['proxy', '--type', 'sidecar']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^skiff: required option '--name <name>' not specified/);
    const badValue = await skiff([
      'proxy',
      ...['--type', 'bogus', '--name', 'a', '--namespace', 'b', '--workload', 'w'],
      ...['--service-account', 's', '--xds', '127.0.0.1:1'],
    ]);
    assert.equal(badValue.code, 2);
    assert.equal(badValue.stderr.trim(), 'skiff: --type: "bogus" is not sidecar or router');
  });

  test('mesh commands without a mesh: exit 1, "no running mesh"', async () => {
    for (const args of [['get', 'vs'], ['proxy-status'], ['exec', 'x', '--', 'true']]) {
      const run = await skiff(args);
      assert.equal(run.code, 1, args.join(' '));
      assert.match(run.stderr, /^skiff: no running mesh \(/);
    }
  });

  test('skiff up with a broken config prints the problem lines and exits 1', async () => {
    const dir = path.join(tmp, 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'vs.yaml'),
      'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: r\nspec:\n  hosts: [r]\n  http:\n    - route:\n        - destination:\n            host: r\n          weight: fifty\n',
    );
    const run = await skiff(['up', 'broken']);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^broken\/vs\.yaml:11: VirtualService default\/r: spec\.http\[0\]\.route\[0\]\.weight: /m,
    );
    assert.ok(!existsSync(path.join(tmp, '.skiff', 'mesh.json')));
  });
});

describe('long-running commands end with their parent', () => {
  const proxyArgs = (readyFile: string) => [
    'proxy',
    ...['--type', 'sidecar', '--name', 'p-0', '--namespace', 'default', '--workload', 'p'],
    ...['--service-account', 'default', '--labels', 'app=p', '--admin-port', '0'],
    // Nothing listens there: the proxy keeps retrying, which must not keep it alive.
    ...['--xds', '127.0.0.1:1', '--outbound-port', '0', '--ready-file', readyFile],
  ];

  test('skiff proxy --exit-with-parent exits 0 once its stdin closes', async () => {
    const readyFile = path.join(tmp, 'proxy-a.json');
    const p = serve([...proxyArgs(readyFile), '--exit-with-parent']);
    await waitFor(() => existsSync(readyFile), {
      timeoutMs: 60_000,
      what: `${readyFile}\n${p.stderr()}`,
    });
    const { pid } = JSON.parse(readFileSync(readyFile, 'utf8')) as { pid: number };
    assert.equal(pid, p.child.pid);
    p.child.stdin!.end(); // what the kernel does when the launcher dies
    assert.equal(await p.exited, 0, p.stderr());
    assert.match(p.stderr(), /parent exited/);
  });

  test('skiff proxy exits 0 on SIGTERM', async () => {
    const readyFile = path.join(tmp, 'proxy-b.json');
    const p = serve(proxyArgs(readyFile));
    await waitFor(() => existsSync(readyFile), { timeoutMs: 60_000, what: readyFile });
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.stderr());
  });

  test('skiff control-plane --exit-with-parent exits 0 once its stdin closes', async () => {
    const stateDir = path.join(tmp, 'cp-state');
    const configDir = path.join(tmp, 'cp-config');
    mkdirSync(configDir, { recursive: true });
    const cp = serve([
      'control-plane',
      ...['--config', configDir, '--state-dir', stateDir, '--grpc-port', '0', '--http-port', '0'],
      '--exit-with-parent',
    ]);
    const ready = path.join(stateDir, 'control-plane.json');
    await waitFor(() => existsSync(ready), { timeoutMs: 60_000, what: `${ready}\n${cp.stderr()}` });
    cp.child.stdin!.end();
    assert.equal(await cp.exited, 0, cp.stderr());
  });
});
