// tcp_proxy through a real listener: server-first protocols, half-close, connect attempts,
// timeouts, and the response flags a session records.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  backend,
  connect,
  dataPlane,
  deadPort,
  readAll,
  readUntil,
  socketListener,
  staticCluster,
  tcpProxyFilter,
  until,
} from '../../../listeners/testing.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function proxy(clusters: Record<string, unknown>[], filter: Record<string, unknown>) {
  const dp = dataPlane(clusters);
  cleanups.push(() => dp.close());
  const [port] = await dp.apply([
    socketListener('tcp', { filter_chains: [{ filters: [filter] }] }),
  ]);
  return { dp, port: port ?? 0 };
}

test('the server speaks first; bytes both ways; a half-close is passed on', async () => {
  const b = await backend((s) => {
    s.write('220 ready\n');
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    // The client's FIN arrives; the server still answers, then closes.
    s.on('end', () => s.end(`bye after ${JSON.stringify(got)}\n`));
  });
  cleanups.push(b.close);
  const { dp, port } = await proxy(
    [staticCluster('c', [b.port])],
    tcpProxyFilter({ cluster: 'c' }),
  );
  const s = connect(port);
  const all = readAll(s);
  // Nothing sent yet: the greeting comes on its own.
  assert.equal(await readUntil(s, (t) => t.endsWith('\n')), '220 ready\n');
  s.end('QUIT');
  assert.equal(await all, '220 ready\nbye after "QUIT"\n');
  await until('the session ends', () => dp.sessions.length === 1);
  const session = dp.sessions[0];
  assert.equal(session?.clusterName, 'c');
  assert.equal(session?.upstreamHost?.port, b.port);
  assert.equal(session?.bytesReceived, 4);
  assert.equal(session?.bytesSent, '220 ready\nbye after "QUIT"\n'.length);
  assert.deepEqual([...(session?.responseFlags ?? [])], []);
});

test('max_connect_attempts: a refused host is skipped for the next; one attempt is UF', async () => {
  const b = await backend((s) => s.end('up\n'));
  cleanups.push(b.close);
  const dead = await deadPort();
  const cluster = staticCluster('c', [dead, b.port]);
  const two = await proxy([cluster], tcpProxyFilter({ cluster: 'c', max_connect_attempts: 2 }));
  for (let i = 0; i < 4; i++) assert.equal(await readAll(connect(two.port)), 'up\n');
  const one = await proxy([cluster], tcpProxyFilter({ cluster: 'c' }));
  const answers = await Promise.all([0, 1, 2, 3].map(() => readAll(connect(one.port))));
  assert.ok(answers.includes(''), 'the dead host got some connections');
  assert.ok(answers.includes('up\n'), 'the live one the others');
  await until('four sessions', () => one.dp.sessions.length === 4);
  const failed = one.dp.sessions.filter((s) => s.responseFlags.has('UF'));
  assert.equal(failed.length, answers.filter((a) => a === '').length);
});

test('no cluster is NC, no host UH: the connection is closed', async () => {
  const { dp, port } = await proxy(
    [staticCluster('empty', [])],
    tcpProxyFilter({
      weighted_clusters: {
        clusters: [
          { name: 'missing', weight: 1 },
          { name: 'empty', weight: 1 },
        ],
      },
    }),
  );
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    assert.equal(await readAll(connect(port)), '');
    await until('the session ends', () => dp.sessions.length === i + 1);
    const s = dp.sessions[i];
    seen.add(`${s?.clusterName}:${[...(s?.responseFlags ?? [])].join(',')}`);
  }
  assert.deepEqual([...seen].sort(), ['empty:UH', 'missing:NC']);
});

test('idle_timeout closes a silent connection; max_downstream_connection_duration is DT', async () => {
  const b = await backend(() => undefined);
  cleanups.push(b.close);
  const idle = await proxy(
    [staticCluster('c', [b.port])],
    tcpProxyFilter({ cluster: 'c', idle_timeout: '0.1s' }),
  );
  assert.equal(await readAll(connect(idle.port)), '');
  await until('the session ends', () => idle.dp.sessions.length === 1);
  assert.equal(idle.dp.sessions[0]?.terminationDetails, 'idle_timeout');
  const capped = await proxy(
    [staticCluster('c', [b.port])],
    tcpProxyFilter({
      cluster: 'c',
      idle_timeout: '0s',
      max_downstream_connection_duration: '0.1s',
    }),
  );
  const s = connect(capped.port);
  // Traffic does not extend a connection's lifetime cap.
  const ticker = setInterval(() => s.write('.'), 10);
  await readAll(s);
  clearInterval(ticker);
  await until('the session ends', () => capped.dp.sessions.length === 1);
  assert.ok(capped.dp.sessions[0]?.responseFlags.has('DT'));
  assert.equal(capped.dp.sessions[0]?.terminationDetails, 'max_duration_timeout');
});
