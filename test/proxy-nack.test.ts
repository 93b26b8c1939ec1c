// A real proxy process fed by a real ADS server: an invalid resource is NACKed with its reason,
// the proxy keeps serving its last good config, and takes the next good one.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AdsServer } from '../src/control-plane/server/ads-server.js';
import type { NamedResource } from '../src/control-plane/server/snapshot.js';
import { TypeUrl } from '../src/xds/types.js';
import { typed } from '../src/xds/any.js';
import { FixedSource } from './support/xds-fixtures.js';
import type { Resources } from './support/xds-fixtures.js';
import { SKIFF, eventually, getJson } from './support/skiff.js';

const PROXY_NAME = 'nack-0';

/** A listener on port 0 (the proxy picks) whose inline route does `routes`. */
function listener(routes: object[]): NamedResource {
  return {
    name: 'front',
    resource: {
      name: 'front',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: typed(
                'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                {
                  stat_prefix: 'front',
                  route_config: {
                    name: 'front',
                    virtual_hosts: [{ name: 'all', domains: ['*'], routes }],
                  },
                  http_filters: [
                    {
                      name: 'envoy.filters.http.router',
                      typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}),
                    },
                  ],
                },
              ),
            },
          ],
        },
      ],
    },
  };
}

function staticCluster(port: number): NamedResource {
  return {
    name: 'app',
    resource: {
      name: 'app',
      type: 'STATIC',
      connect_timeout: '1s',
      load_assignment: {
        cluster_name: 'app',
        endpoints: [
          {
            lb_endpoints: [
              {
                endpoint: {
                  address: { socket_address: { address: '127.0.0.1', port_value: port } },
                },
              },
            ],
          },
        ],
      },
    },
  };
}

const resources = (appPort: number, routes: object[]): Resources => ({
  [TypeUrl.Cluster]: [staticCluster(appPort)],
  [TypeUrl.Listener]: [listener(routes)],
});

let grpcServer: grpc.Server;
let ads: AdsServer;
let source: FixedSource;
let app: http.Server;
let appPort: number;
let proxy: ChildProcess;
let admin: string;

before(async () => {
  app = http.createServer((_req, res) => res.end('from the app'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
  source = new FixedSource(
    resources(appPort, [{ match: { prefix: '/' }, route: { cluster: 'app' } }]),
  );
  ads = new AdsServer({ source });
  grpcServer = new grpc.Server();
  ads.register(grpcServer);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-nack-'));
  const readyFile = path.join(dir, 'ready.json');
  const [cmd = '', ...args] = SKIFF;
  proxy = spawn(
    cmd,
    [
      ...args,
      'proxy',
      '--type',
      'sidecar',
      '--name',
      PROXY_NAME,
      '--namespace',
      'default',
      '--workload',
      'nack',
      '--service-account',
      'default',
      '--labels',
      'app=nack',
      '--xds',
      `127.0.0.1:${grpcPort}`,
      '--admin-port',
      '0',
      '--ready-file',
      readyFile,
    ],
    { stdio: ['pipe', 'inherit', 'inherit'] },
  );
  admin = await eventually(
    'the proxy admin address',
    () =>
      existsSync(readyFile) &&
      (JSON.parse(readFileSync(readyFile, 'utf8')) as { adminAddress: string }).adminAddress,
    60_000,
  );
  await eventually(
    'the proxy ready',
    async () => (await fetch(`http://${admin}/ready`)).ok,
    60_000,
  );
});

after(async () => {
  proxy?.kill('SIGTERM');
  ads?.close();
  grpcServer?.forceShutdown();
  await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
});

async function listenerPort(): Promise<number> {
  const text = await (await fetch(`http://${admin}/listeners`)).text();
  const m = /front::127\.0\.0\.1:(\d+)/.exec(text);
  assert.ok(m, `listener front in ${text}`);
  return Number(m[1]);
}

async function call(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${await listenerPort()}/x`);
  return `${res.status} ${await res.text()}`;
}

/** The admin's /stats as name → value (counters as numbers, text readouts as written). */
async function stats(): Promise<Map<string, string>> {
  const text = await (await fetch(`http://${admin}/stats`)).text();
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(': ');
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 2));
  }
  return out;
}

function ldsStatus() {
  const proxyStatus = ads.status().find((p) => p.node.name === PROXY_NAME);
  return proxyStatus?.types[TypeUrl.Listener];
}

test('an invalid resource is NACKed with its reason and the last good config keeps serving', async () => {
  assert.equal(await call(), '200 from the app');
  const goodVersion = ldsStatus()?.ackedVersion;
  assert.ok(goodVersion);
  // Envoy's subscription stats: every update so far applied, none rejected.
  const first = await stats();
  assert.equal(first.get('listener_manager.lds.update_rejected'), '0');
  assert.equal(first.get('listener_manager.lds.version_text'), JSON.stringify(goodVersion));
  const ldsSuccesses = Number(first.get('listener_manager.lds.update_success'));
  assert.ok(ldsSuccesses >= 1, `lds update_success ${ldsSuccesses}`);
  assert.ok(Number(first.get('cluster_manager.cds.update_success')) >= 1);
  assert.equal(first.get('cluster_manager.cds.update_rejected'), '0');

  // A route whose regex does not compile: the control plane's validation would never let this
  // through, so the test's own ADS server sends it.
  source.set(
    resources(appPort, [
      { match: { safe_regex: { regex: '(unclosed' } }, route: { cluster: 'app' } },
    ]),
  );
  ads.push('bad listener');
  const nack = await eventually('the NACK', () => ldsStatus()?.nack);
  assert.match(
    nack.message,
    /^Listener front\.filter_chains\[0\]\..*safe_regex\.regex: regex "\(unclosed" does not compile/,
  );
  assert.equal(ldsStatus()?.ackedVersion, goodVersion, 'the proxy still runs the good version');
  const rejected = await stats();
  assert.equal(rejected.get('listener_manager.lds.update_rejected'), '1');
  assert.equal(rejected.get('listener_manager.lds.update_success'), String(ldsSuccesses));
  assert.equal(rejected.get('listener_manager.lds.version_text'), JSON.stringify(goodVersion));
  const prometheus = await (await fetch(`http://${admin}/stats/prometheus`)).text();
  assert.match(prometheus, /^# TYPE envoy_listener_manager_lds_update_rejected counter$/m);
  assert.match(prometheus, /^envoy_listener_manager_lds_update_rejected 1$/m);
  assert.match(prometheus, /^# TYPE envoy_listener_manager_lds_update_time gauge$/m);
  for (let i = 0; i < 20; i++) assert.equal(await call(), '200 from the app');
  const dump = await getJson<{
    configs: { dynamic_listeners?: { active_state: { version_info: string } }[] }[];
  }>(`http://${admin}/config_dump`);
  const listeners = dump.configs.find((c) => c.dynamic_listeners)?.dynamic_listeners ?? [];
  assert.equal(listeners[0]?.active_state.version_info, goodVersion);

  // The next good version is taken.
  source.set(
    resources(appPort, [
      {
        match: { prefix: '/' },
        direct_response: { status: 200, body: { inline_string: 'second good version' } },
      },
    ]),
  );
  ads.push('good listener');
  await eventually(
    'the second good version serving',
    async () => (await call()) === '200 second good version',
  );
  const lds = ldsStatus();
  assert.equal(lds?.ackedVersion, lds?.sentVersion);
  // Counted before the ACK goes out, which may be just after the new version serves.
  const last = await eventually('the update counted', async () => {
    const now = await stats();
    return now.get('listener_manager.lds.update_success') === String(ldsSuccesses + 1) && now;
  });
  assert.equal(last.get('listener_manager.lds.update_rejected'), '1');
  assert.equal(last.get('listener_manager.lds.version_text'), JSON.stringify(lds?.ackedVersion));
  assert.ok(
    Number(last.get('listener_manager.lds.config_reload')) >
      Number(first.get('listener_manager.lds.config_reload')),
  );
});
