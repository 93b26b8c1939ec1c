// The xDS transport end to end: the real AdsServer and the real XdsClient (or a raw gRPC stream,
// where the test must say exactly what goes on the wire) over gRPC on 127.0.0.1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import grpcXds from '@grpc/grpc-js-xds';
import { AdsServer } from '../src/control-plane/server/ads-server.js';
import type {
  AdsEvents,
  SnapshotSource,
  TypeStatus,
} from '../src/control-plane/server/ads-server.js';
import { FixedSource, edsCluster, endpoints, sampleResources } from './support/xds-fixtures.js';
import type { Resources } from './support/xds-fixtures.js';
import { XdsClient } from '../src/proxy/xds-client/xds-client.js';
import { adsServiceDefinition, resourceNameOf } from '../src/xds/ads-service.js';
import type { AdsClient, DiscoveryRequest, DiscoveryResponse } from '../src/xds/ads-service.js';
import { typed, unpackAny } from '../src/xds/any.js';
import { nodeId, toEnvoyNode } from '../src/xds/node.js';
import type { EnvoyNode } from '../src/xds/node.js';
import { SHORT_NAME, TypeUrl } from '../src/xds/types.js';

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;
const CORE = [CDS, EDS, LDS, RDS] as const;

const short = (typeUrl: string): string => SHORT_NAME[typeUrl as TypeUrl] ?? typeUrl;

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function envoyNode(name: string): EnvoyNode {
  return toEnvoyNode({
    id: nodeId({ type: 'sidecar', ip: '127.0.0.1', name, namespace: 'default' }),
    type: 'sidecar',
    name,
    namespace: 'default',
    workloadName: name.replace(/-\d+$/, ''),
    serviceAccount: 'default',
    labels: { app: name.split('-')[0] ?? name },
    ip: '127.0.0.1',
    inbound: [],
    istioVersion: '',
  });
}

type Event = { [K in keyof AdsEvents]: { event: K } & AdsEvents[K] }[keyof AdsEvents];

interface Harness {
  readonly grpcServer: grpc.Server;
  readonly ads: AdsServer;
  readonly port: number;
  readonly address: string;
  readonly logs: string[];
  readonly events: Event[];
}

async function startServer(source: SnapshotSource, port = 0): Promise<Harness> {
  const logs: string[] = [];
  const events: Event[] = [];
  const ads = new AdsServer({ source, log: (line) => logs.push(line) });
  for (const name of ['push', 'ack', 'nack', 'ignore', 'request', 'connect'] as const) {
    ads.on(name, (payload: object) => events.push({ event: name, ...payload } as Event));
  }
  const grpcServer = new grpc.Server();
  ads.register(grpcServer);
  // Rebinding a port just released can race the old socket's close: retry until a deadline.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const bound = await new Promise<number>((resolve, reject) =>
        grpcServer.bindAsync(
          `127.0.0.1:${port}`,
          grpc.ServerCredentials.createInsecure(),
          (e, p) => (e ? reject(e) : resolve(p)),
        ),
      );
      return { grpcServer, ads, port: bound, address: `127.0.0.1:${bound}`, logs, events };
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function stopServer(h: Harness): void {
  h.ads.close();
  h.grpcServer.forceShutdown();
}

const pushes = (h: Harness, proxyName?: string) =>
  h.events.filter(
    (e): e is Extract<Event, { event: 'push' }> =>
      e.event === 'push' && (!proxyName || e.proxyId.includes(`~${proxyName}.`)),
  );

interface Call {
  typeUrl: string;
  names: string[];
  version: string;
  resources: ReadonlyMap<string, Record<string, unknown>>;
}

/** What a proxy does with the transport: applies sets, names EDS/RDS resources as it learns them. */
class FakeProxy {
  readonly calls: Call[] = [];
  readonly logs: string[] = [];
  readonly nacks: unknown[] = [];
  reject:
    | ((
        typeUrl: string,
        resources: ReadonlyMap<string, Record<string, unknown>>,
      ) => string | undefined)
    | undefined;
  /** Lets a test keep an update "being applied" until it says so. */
  hold: ((typeUrl: string) => Promise<void> | undefined) | undefined;
  readonly client: XdsClient;

  constructor(
    address: string,
    readonly name = 'reviews-v1-0',
  ) {
    this.client = new XdsClient({
      address,
      node: envoyNode(name),
      onResources: (typeUrl, resources, version) => this.#apply(typeUrl, resources, version),
      backoff: { initialMs: 20, maxMs: 200 },
      // Long enough never to fire here: the order of the initial fetch is under test.
      initialFetchTimeoutMs: 120_000,
      log: (line) => this.logs.push(line),
    });
    this.client.on('nack', (event) => this.nacks.push(event));
  }

  async #apply(
    typeUrl: string,
    resources: ReadonlyMap<string, Record<string, unknown>>,
    version: string,
  ): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // a proxy compiles asynchronously
    await this.hold?.(typeUrl);
    const why = this.reject?.(typeUrl, resources);
    if (why) throw new Error(why);
    this.calls.push({ typeUrl, names: [...resources.keys()], version, resources });
    const all = [...resources.values()];
    if (typeUrl === CDS) {
      const eds = all.filter((c) => c['type'] === 'EDS');
      this.client.subscribe(
        EDS,
        eds.map((c) => {
          const service = (c['eds_cluster_config'] as Record<string, unknown> | undefined)?.[
            'service_name'
          ];
          return typeof service === 'string' ? service : String(c['name']);
        }),
      );
    }
    if (typeUrl === LDS) {
      const json = JSON.stringify(all);
      this.client.subscribe(
        RDS,
        [...json.matchAll(/"route_config_name":"([^"]+)"/g)].map((m) => m[1] ?? ''),
      );
    }
  }

  versions(): string[] {
    const types = this.client.status().types;
    return CORE.map((t) => types[t]?.version ?? '');
  }
}

function snapshotVersions(source: FixedSource): string[] {
  return CORE.map((t) => source.snapshot.version(t));
}

function serverAcked(h: Harness, proxyName: string): string[] {
  const status = h.ads.status().find((s) => s.node.name === proxyName);
  return CORE.map((t) => status?.types[t]?.ackedVersion ?? '');
}

function synced(h: Harness, proxy: FakeProxy, source: FixedSource): boolean {
  const want = snapshotVersions(source).join();
  return proxy.versions().join() === want && serverAcked(h, proxy.name).join() === want;
}

function withEndpoints(port: number, extra: Resources = {}): Resources {
  return { ...sampleResources(port), ...extra };
}

test('initial sync: CDS, EDS, LDS, RDS in order; ACKs recorded on both sides', async (t) => {
  const source = new FixedSource();
  const h = await startServer(source);
  const proxy = new FakeProxy(h.address);
  t.after(() => (proxy.client.stop(), stopServer(h)));
  proxy.client.start();
  await waitFor('sync', () => synced(h, proxy, source));

  assert.deepEqual(
    proxy.calls.map((c) => short(c.typeUrl)),
    ['CDS', 'EDS', 'LDS', 'RDS'],
  );
  assert.deepEqual(
    pushes(h).map((p) => short(p.typeUrl)),
    ['CDS', 'EDS', 'LDS', 'RDS'],
  );
  assert.deepEqual(
    proxy.calls.map((c) => c.names),
    [['reviews'], ['reviews'], ['http'], ['9080']],
  );
  const [status] = h.ads.status();
  assert.ok(status);
  assert.equal(status.node.name, 'reviews-v1-0');
  for (const typeUrl of CORE) {
    const s: TypeStatus | undefined = status.types[typeUrl];
    assert.ok(s?.sentNonce && s.sentAt && s.ackedAt, short(typeUrl));
    assert.equal(s.ackedVersion, s.sentVersion);
    assert.equal(s.nack, undefined);
    assert.equal(proxy.client.status().types[typeUrl]?.nonce, s.sentNonce);
  }
  assert.equal(proxy.client.status().connected, true);
  // Envoy's subscription stats: one applied update per type, and per named resource.
  const updates = proxy.client.updates;
  for (const [i, typeUrl] of CORE.entries()) {
    const c = updates.type(typeUrl);
    assert.deepEqual(
      [c?.update_attempt, c?.update_success, c?.config_reload, c?.update_rejected],
      [2, 1, 1, 0], // the subscription's start, then the update
      short(typeUrl),
    );
    assert.equal(c?.version_text, snapshotVersions(source)[i]);
  }
  assert.deepEqual([...updates.resources(EDS).keys()], ['reviews']);
  assert.deepEqual([...updates.resources(RDS).keys()], ['9080']);
  assert.equal(updates.resources(RDS).get('9080')?.update_success, 1);
  assert.equal(updates.resources(CDS).size, 0, 'wildcard types count per type only');
  // The node went with the first request only.
  const requests = h.events.filter((e) => e.event === 'request');
  assert.equal(requests.filter((e) => e.request.node).length, 1);
  assert.ok(requests[0]?.event === 'request' && requests[0].request.node);
});

test('a push sends only the changed types, to the proxies whose resources changed', async (t) => {
  const source = new FixedSource();
  const h = await startServer(source);
  const a = new FakeProxy(h.address, 'reviews-v1-0');
  const b = new FakeProxy(h.address, 'ratings-v1-0');
  t.after(() => (a.client.stop(), b.client.stop(), stopServer(h)));
  a.client.start();
  b.client.start();
  await waitFor('sync', () => synced(h, a, source) && synced(h, b, source));
  const before = pushes(h).length;

  h.ads.push('nothing changed'); // push() sends synchronously: no wait needed to see nothing
  assert.equal(pushes(h).length, before);

  source.setFor('reviews-v1-0', withEndpoints(9081));
  h.ads.push('endpoints of a');
  assert.deepEqual(
    pushes(h)
      .slice(before)
      .map((p) => [p.proxyId.split('~')[2], short(p.typeUrl), p.reason]),
    [['reviews-v1-0.default', 'EDS', 'endpoints of a']],
  );
  const callsOfB = b.calls.length;
  await waitFor(
    'a has the new endpoints',
    () =>
      a.calls.at(-1)?.typeUrl === EDS &&
      JSON.stringify(a.calls.at(-1)?.resources.get('reviews')).includes('9081'),
  );
  assert.equal(b.calls.length, callsOfB);

  // An endpoint change for a cluster the proxy did not ask for changes EDS's version, not a's set.
  source.setFor(
    'reviews-v1-0',
    withEndpoints(9081, {
      [EDS]: [endpoints('reviews', 9081), endpoints('unused', 1)],
    }),
  );
  const mid = pushes(h).length;
  h.ads.push('unrelated endpoints');
  assert.equal(pushes(h).length, mid);
});

/** A proxy that rejects any endpoints on port 6666, with that reason. */
function cursedProxy(address: string): FakeProxy {
  const proxy = new FakeProxy(address);
  proxy.reject = (typeUrl, resources) =>
    typeUrl === EDS && JSON.stringify([...resources.values()]).includes('6666')
      ? 'port 6666 is cursed'
      : undefined;
  return proxy;
}

test('NACK: recorded with its message, the proxy keeps its version, the same content is never resent', async (t) => {
  const source = new FixedSource(withEndpoints(9080));
  const h = await startServer(source);
  const proxy = cursedProxy(h.address);
  t.after(() => (proxy.client.stop(), stopServer(h)));
  proxy.client.start();
  await waitFor('sync', () => synced(h, proxy, source));
  const good = source.snapshot.version(EDS);

  source.set(withEndpoints(6666));
  const bad = source.snapshot.version(EDS);
  h.ads.push('bad endpoints');
  const edsStatus = () => h.ads.status()[0]?.types[EDS];
  await waitFor('the NACK', () => edsStatus()?.nack !== undefined);
  assert.equal(edsStatus()?.nack?.message, 'port 6666 is cursed');
  assert.equal(edsStatus()?.nack?.version, bad);
  assert.equal(edsStatus()?.nack?.nonce, edsStatus()?.sentNonce);
  assert.equal(edsStatus()?.ackedVersion, good);
  assert.equal(proxy.client.status().types[EDS]?.version, good);
  assert.equal(proxy.client.status().types[EDS]?.lastError, 'port 6666 is cursed');
  assert.deepEqual(proxy.nacks, [
    { typeUrl: EDS, version: bad, nonce: edsStatus()?.sentNonce, message: 'port 6666 is cursed' },
  ]);
  assert.ok(h.logs.some((l) => l.includes('rejected EDS') && l.includes('port 6666 is cursed')));
  // Counted where Envoy counts it: the type and the resource the response carried.
  for (const c of [
    proxy.client.updates.type(EDS),
    proxy.client.updates.resources(EDS).get('reviews'),
  ]) {
    assert.deepEqual([c?.update_rejected, c?.update_success, c?.version_text], [1, 1, good]);
  }

  const sent = pushes(h).length;
  h.ads.push('again');
  source.set(withEndpoints(6666)); // a new snapshot, the same rejected content
  h.ads.push('rebuilt');
  assert.equal(pushes(h).length, sent);

  source.set(withEndpoints(7777));
  h.ads.push('fixed endpoints');
  assert.deepEqual(
    pushes(h)
      .slice(sent)
      .map((p) => short(p.typeUrl)),
    ['EDS'],
  );
  await waitFor('the next version applied', () => synced(h, proxy, source));
  assert.equal(proxy.client.status().types[EDS]?.lastError, undefined);
  assert.equal(edsStatus()?.nack, undefined);

  // Coming back to the rejected content later is still not sent on this stream.
  const later = pushes(h).length;
  source.set(withEndpoints(6666));
  h.ads.push('the rejected content again');
  assert.equal(pushes(h).length, later);
  source.set(withEndpoints(8888));
  h.ads.push('something new');
  assert.deepEqual(
    pushes(h)
      .slice(later)
      .map((p) => short(p.typeUrl)),
    ['EDS'],
  );
  await waitFor('8888 applied', () => synced(h, proxy, source));
});

test('subscription stats per resource: a reload only where its bytes changed; a NACK counts against every name', async (t) => {
  const two = (reviewsPort: number, ratingsPort: number) =>
    withEndpoints(reviewsPort, {
      [CDS]: [edsCluster('reviews'), edsCluster('ratings')],
      [EDS]: [endpoints('reviews', reviewsPort), endpoints('ratings', ratingsPort)],
    });
  const source = new FixedSource(two(9080, 9180));
  const h = await startServer(source);
  const proxy = cursedProxy(h.address);
  t.after(() => (proxy.client.stop(), stopServer(h)));
  proxy.client.start();
  await waitFor('sync', () => synced(h, proxy, source));
  const eds = proxy.client.updates.resources(EDS);
  assert.deepEqual([...eds.keys()].sort(), ['ratings', 'reviews']);
  for (const c of eds.values()) assert.deepEqual([c.update_success, c.config_reload], [1, 1]);

  // Only ratings' endpoints move: only ratings reloads.
  source.set(two(9080, 9181));
  h.ads.push('ratings moved');
  await waitFor('ratings applied', () => synced(h, proxy, source));
  assert.equal(eds.get('ratings')?.config_reload, 2);
  // The response carried reviews too (state of the world), unchanged: a success, no reload.
  assert.deepEqual([eds.get('reviews')?.update_success, eds.get('reviews')?.config_reload], [2, 1]);

  // A rejected response counts against every subscribed name, as Envoy tells every watch.
  source.set(two(9080, 6666));
  h.ads.push('cursed ratings');
  await waitFor('the NACK', () => proxy.nacks.length === 1);
  assert.deepEqual(
    [eds.get('reviews')?.update_rejected, eds.get('ratings')?.update_rejected],
    [1, 1],
  );
  assert.equal(proxy.client.updates.type(EDS)?.update_rejected, 1);
});

/** A bare ADS stream, to put exact requests on the wire. */
function rawStream(address: string) {
  const Client = grpc.makeGenericClientConstructor(
    adsServiceDefinition,
    'AggregatedDiscoveryService',
  );
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as AdsClient;
  const call = client.StreamAggregatedResources();
  const received: DiscoveryResponse[] = [];
  let status: grpc.StatusObject | undefined;
  call.on('data', (r: DiscoveryResponse) => received.push(r));
  call.on('error', () => {});
  call.on('status', (s: grpc.StatusObject) => (status = s));
  const send = (r: Partial<DiscoveryRequest>) =>
    call.write({ version_info: '', resource_names: [], type_url: EDS, response_nonce: '', ...r });
  return {
    received,
    send,
    status: () => status,
    close: () => (call.cancel(), client.close()),
  };
}

const names = (r: DiscoveryResponse | undefined) =>
  (r?.resources ?? []).map((any) => resourceNameOf(r?.type_url ?? '', unpackAny(any)));

test('stale nonces are ignored; a change of EDS names is answered; unsubscribed types get nothing', async (t) => {
  const source = new FixedSource(
    withEndpoints(9080, { [EDS]: [endpoints('reviews', 9080), endpoints('other', 1)] }),
  );
  const h = await startServer(source);
  const raw = rawStream(h.address);
  t.after(() => (raw.close(), stopServer(h)));

  raw.send({ node: envoyNode('raw-0'), resource_names: ['reviews'] });
  await waitFor('R1', () => raw.received.length === 1);
  const r1 = raw.received[0] as DiscoveryResponse;
  assert.deepEqual(names(r1), ['reviews']);

  source.set({
    ...withEndpoints(9081),
    [CDS]: [edsCluster('reviews'), edsCluster('extra')],
    [EDS]: [endpoints('reviews', 9081), endpoints('extra', 2)],
  });
  h.ads.push('change');
  await waitFor('R2', () => raw.received.length === 2);
  const r2 = raw.received[1] as DiscoveryResponse;
  assert.equal(r2.type_url, EDS); // CDS changed too, but this stream never asked for clusters

  raw.send({
    response_nonce: r1.nonce,
    version_info: r1.version_info,
    resource_names: ['reviews', 'other'],
  });
  raw.send({
    response_nonce: r2.nonce,
    version_info: r2.version_info,
    resource_names: ['reviews'],
  });
  raw.send({
    response_nonce: r2.nonce,
    version_info: r2.version_info,
    resource_names: ['reviews', 'extra'],
  });
  await waitFor('R3', () => raw.received.length >= 3);
  const r3 = raw.received[2];
  assert.deepEqual(names(r3), ['extra', 'reviews']);
  assert.ok(h.events.some((e) => e.event === 'ignore' && e.nonce === r1.nonce));
  assert.equal(h.ads.status()[0]?.types[EDS]?.ackedVersion, r2.version_info);
  // Had the stale request counted, ['reviews', 'other'] would have been answered first.
  raw.send({
    response_nonce: r3?.nonce,
    version_info: r3?.version_info,
    resource_names: ['reviews', 'extra'],
  });
  await waitFor('the ACK of R3', () =>
    h.events.some((e) => e.event === 'ack' && e.nonce === r3?.nonce),
  );
  assert.equal(raw.received.length, 3);
});

test('the real client: a new EDS subscription gets its resources', async (t) => {
  const source = new FixedSource(
    withEndpoints(9080, { [EDS]: [endpoints('reviews', 9080), endpoints('other', 1)] }),
  );
  const h = await startServer(source);
  const proxy = new FakeProxy(h.address);
  t.after(() => (proxy.client.stop(), stopServer(h)));
  proxy.client.start();
  await waitFor('sync', () => synced(h, proxy, source));
  proxy.client.subscribe(EDS, ['reviews', 'other']);
  await waitFor(
    'other',
    () => proxy.calls.at(-1)?.typeUrl === EDS && proxy.calls.at(-1)?.names.length === 2,
  );
  assert.deepEqual(proxy.calls.at(-1)?.names.sort(), ['other', 'reviews']);
});

test('the ACK waits for onResources; names changed meanwhile ride on the ACK', async (t) => {
  const source = new FixedSource(
    withEndpoints(9080, { [EDS]: [endpoints('reviews', 9080), endpoints('other', 1)] }),
  );
  const h = await startServer(source);
  const proxy = new FakeProxy(h.address);
  t.after(() => (proxy.client.stop(), stopServer(h)));
  proxy.client.start();
  await waitFor('sync', () => synced(h, proxy, source));
  const old = source.snapshot.version(EDS);

  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  proxy.hold = (typeUrl) => {
    if (typeUrl !== EDS) return undefined;
    proxy.hold = undefined;
    // Still applying: the proxy learns of another cluster and names it.
    proxy.client.subscribe(EDS, ['reviews', 'other']);
    return held;
  };
  source.set(withEndpoints(9081, { [EDS]: [endpoints('reviews', 9081), endpoints('other', 1)] }));
  h.ads.push('new endpoints');
  const sentNonce = h.ads.status()[0]?.types[EDS]?.sentNonce;
  // The subscription change carries the last handled nonce, stale now: ignored by the server.
  await waitFor('the stale subscription change', () =>
    h.events.some((e) => e.event === 'ignore' && e.typeUrl === EDS),
  );
  // Requests arrive in order: an early ACK would have been seen before it.
  assert.equal(h.ads.status()[0]?.types[EDS]?.ackedVersion, old);
  assert.equal(h.ads.status()[0]?.types[EDS]?.sentNonce, sentNonce);

  release();
  await waitFor(
    'both names applied',
    () => proxy.calls.at(-1)?.typeUrl === EDS && proxy.calls.at(-1)?.names.length === 2,
  );
  await waitFor('acked', () => synced(h, proxy, source));
});

test('an inconsistent snapshot is not sent; the proxy keeps what it has until a consistent one', async (t) => {
  const source = new FixedSource();
  const h = await startServer(source);
  const a = new FakeProxy(h.address, 'reviews-v1-0');
  t.after(() => (a.client.stop(), b.client.stop(), stopServer(h)));
  a.client.start();
  await waitFor('sync', () => synced(h, a, source));
  const good = snapshotVersions(source);

  source.set({ ...sampleResources(), [CDS]: [edsCluster('reviews'), edsCluster('ratings')] });
  const before = pushes(h).length;
  h.ads.push('missing endpoints');
  assert.equal(pushes(h).length, before);
  assert.ok(h.logs.some((l) => l.includes('inconsistent') && l.includes('Cluster ratings')));
  assert.deepEqual(a.versions(), good);

  // A proxy arriving meanwhile subscribes, and waits.
  const b = new FakeProxy(h.address, 'ratings-v1-0');
  b.client.start();
  await waitFor('b subscribed', () =>
    h.events.some((e) => e.event === 'request' && e.proxyId.includes('ratings')),
  );
  assert.equal(pushes(h, 'ratings-v1-0').length, 0);

  source.set({
    ...sampleResources(),
    [CDS]: [edsCluster('reviews'), edsCluster('ratings')],
    [EDS]: [endpoints('reviews', 9080), endpoints('ratings', 9081)],
  });
  h.ads.push('fixed');
  await waitFor('both in sync', () => synced(h, a, source) && synced(h, b, source));
  assert.deepEqual(
    pushes(h, 'reviews-v1-0')
      .slice(-2)
      .map((p) => short(p.typeUrl)),
    ['CDS', 'EDS'],
  );
  assert.deepEqual(
    b.calls.map((c) => short(c.typeUrl)),
    ['CDS', 'EDS', 'LDS', 'RDS'],
  );
});

test('control plane restart: the client reconnects, resubscribes with its versions, and resyncs', async (t) => {
  const source = new FixedSource();
  const first = await startServer(source);
  const proxy = new FakeProxy(first.address);
  const restarted: Harness[] = [];
  t.after(() => (proxy.client.stop(), restarted.forEach(stopServer)));
  const disconnects: unknown[] = [];
  proxy.client.on('disconnected', (e) => disconnects.push(e));
  proxy.client.start();
  await waitFor('sync', () => synced(first, proxy, source));
  const old = snapshotVersions(source);
  const calls = proxy.calls.length;

  stopServer(first);
  await waitFor('disconnected', () => !proxy.client.status().connected && disconnects.length === 1);
  assert.deepEqual(proxy.versions(), old); // nothing forgotten while the control plane is away

  source.set(withEndpoints(9090));
  const h = await startServer(source, first.port);
  restarted.push(h);
  await waitFor('resync', () => synced(h, proxy, source));
  const firstRequests = new Map<string, DiscoveryRequest>();
  for (const e of h.events) {
    if (e.event === 'request' && !firstRequests.has(e.request.type_url)) {
      firstRequests.set(e.request.type_url, e.request);
    }
  }
  assert.deepEqual([...firstRequests.keys()].map(short), ['CDS', 'EDS', 'LDS', 'RDS']);
  for (const [i, typeUrl] of CORE.entries()) {
    assert.equal(firstRequests.get(typeUrl)?.version_info, old[i], short(typeUrl));
    assert.equal(firstRequests.get(typeUrl)?.response_nonce, '');
  }
  assert.deepEqual(firstRequests.get(EDS)?.resource_names, ['reviews']);
  // Only what changed reached the proxy again.
  assert.deepEqual(
    proxy.calls.slice(calls).map((c) => short(c.typeUrl)),
    ['EDS'],
  );
  assert.ok(proxy.logs.some((l) => l.includes('reconnecting in')));
  // The lost stream is an update_failure for every subscription; the resync is a success for
  // each, and a config reload only where the content changed.
  const updates = proxy.client.updates;
  const cds = updates.type(CDS);
  const reviews = updates.resources(EDS).get('reviews');
  assert.ok(cds && cds.update_failure >= 1 && reviews && reviews.update_failure >= 1);
  assert.deepEqual([cds.update_success, cds.config_reload], [2, 1]);
  assert.deepEqual([reviews.update_success, reviews.config_reload], [2, 2]);
  assert.equal(cds.update_attempt, 1 + cds.update_success + cds.update_failure);
});

test('a stream without a node, or a proxy the source refuses, is turned away', async (t) => {
  const source = new FixedSource();
  const h = await startServer(source);
  const nameless = rawStream(h.address);
  const refused = rawStream(h.address);
  t.after(() => (nameless.close(), refused.close(), stopServer(h)));

  nameless.send({ type_url: CDS });
  await waitFor('status', () => nameless.status() !== undefined);
  assert.equal(nameless.status()?.code, grpc.status.INVALID_ARGUMENT);
  assert.match(nameless.status()?.details ?? '', /node/);

  source.refuse = 'unknown proxy';
  refused.send({ type_url: CDS, node: envoyNode('stranger-0') });
  await waitFor('status', () => refused.status() !== undefined);
  assert.equal(refused.status()?.code, grpc.status.FAILED_PRECONDITION);
  assert.equal(refused.status()?.details, 'unknown proxy');
  assert.deepEqual(h.ads.status(), []);
  assert.equal(nameless.received.length + refused.received.length, 0);
});

test('a dead control plane never crashes the proxy: the client keeps retrying', async (t) => {
  // Bind a port, then free it, so that nothing listens there.
  const probe = await startServer(new FixedSource());
  stopServer(probe);
  const proxy = new FakeProxy(probe.address);
  t.after(() => proxy.client.stop());
  proxy.client.start();
  await waitFor(
    'three attempts',
    () => proxy.logs.filter((l) => l.includes('reconnecting in')).length >= 3,
  );
  assert.equal(proxy.client.status().connected, false);
  assert.equal(proxy.calls.length, 0);
});

/** A unary method with raw bytes both ways: just enough of a backend for a proxyless client. */
const echoService = {
  Say: {
    path: '/skiff.test.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
} satisfies grpc.ServiceDefinition;

async function startBackend(name: string): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(echoService, {
    Say: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
      done(null, Buffer.from(name)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, port };
}

/** What a proxyless gRPC client needs: an API listener, its routes, an EDS cluster, endpoints. */
function proxylessResources(target: string, backendPort: number): Resources {
  const hcm = typed(
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    {
      stat_prefix: 'hello',
      rds: {
        route_config_name: 'hello-routes',
        config_source: { ads: {}, resource_api_version: 'V3' },
      },
      http_filters: [
        {
          name: 'router',
          typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}),
        },
      ],
    },
  );
  const route = {
    name: 'hello-routes',
    virtual_hosts: [
      {
        name: 'hello',
        domains: ['*'],
        routes: [{ match: { prefix: '' }, route: { cluster: 'hello' } }],
      },
    ],
  };
  const assignment = endpoints('hello', backendPort).resource as {
    endpoints: Record<string, unknown>[];
  };
  // gRPC ignores localities without a weight.
  assignment.endpoints = assignment.endpoints.map((e) => ({
    ...e,
    locality: { region: 'local' },
    load_balancing_weight: 1,
  }));
  return {
    [LDS]: [{ name: target, resource: { name: target, api_listener: { api_listener: hcm } } }],
    [RDS]: [{ name: 'hello-routes', resource: route }],
    [CDS]: [
      {
        name: 'hello',
        resource: { ...(edsCluster('hello').resource as object), lb_policy: 'ROUND_ROBIN' },
      },
    ],
    [EDS]: [{ name: 'hello', resource: assignment }],
  };
}

test('a third-party xDS client (@grpc/grpc-js-xds) follows the server, pushes included', async (t) => {
  const one = await startBackend('backend one');
  const two = await startBackend('backend two');
  const target = 'hello.test:50051';
  const source = new FixedSource(proxylessResources(target, one.port));
  const h = await startServer(source);
  grpcXds.register();
  const bootstrap = {
    xds_servers: [
      { server_uri: h.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] },
    ],
    node: {
      id: nodeId({ type: 'sidecar', ip: '127.0.0.1', name: 'grpc-client-0', namespace: 'default' }),
      metadata: {},
      locality: {},
    },
  };
  const Echo = grpc.makeGenericClientConstructor(echoService, 'Echo');
  const client = new Echo(`xds:///${target}`, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  }) as unknown as grpc.Client & {
    Say: (req: Buffer, opts: grpc.CallOptions, cb: grpc.requestCallback<Buffer>) => void;
  };
  t.after(
    () => (client.close(), stopServer(h), one.server.forceShutdown(), two.server.forceShutdown()),
  );
  const say = () =>
    new Promise<string>((resolve, reject) =>
      client.Say(
        Buffer.from('hi'),
        { deadline: Date.now() + 20_000, waitForReady: true } as grpc.CallOptions,
        (e, r) => (e ? reject(e) : resolve(String(r))),
      ),
    );

  assert.equal(await say(), 'backend one');
  const status = () => h.ads.status().find((s) => s.node.name === 'grpc-client-0');
  await waitFor('grpc-js-xds ACKs every type', () =>
    CORE.every((typeUrl) => {
      const s = status()?.types[typeUrl];
      return s !== undefined && s.ackedVersion !== '' && s.ackedVersion === s.sentVersion;
    }),
  );
  for (const typeUrl of CORE)
    assert.equal(status()?.types[typeUrl]?.nack, undefined, short(typeUrl));

  source.set(proxylessResources(target, two.port));
  h.ads.push('move to backend two');
  assert.deepEqual(
    pushes(h)
      .slice(-1)
      .map((p) => short(p.typeUrl)),
    ['EDS'],
  );
  await waitFor(
    'EDS ACKed',
    () => status()?.types[EDS]?.ackedVersion === source.snapshot.version(EDS),
  );
  assert.equal(await say(), 'backend two');
});
