// Starts the control plane: config store and watcher, registry, generators, ADS server, HTTP API.
// Every config or instance change rebuilds the model and pushes to the proxies whose resources
// changed; invalid config never gets that far.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ProxyNode } from '../xds/node.js';
import { SKIFF_VERSION } from '../xds/node.js';
import { ApiServer } from './api/http-api.js';
import { generateResources } from './generate/index.js';
import { startAuthority } from './ca/start.js';
import { registerCaService } from './ca/ca-service.js';
import { tlsServerCredentials } from './ca/tls-port.js';
import { ControlPlaneMetrics } from './metrics/cp-metrics.js';
import { prometheusConfig } from './metrics/prometheus-config.js';
import { httpServiceDiscovery } from './metrics/service-discovery.js';
import { JwksResolver, jwksSourcesIn, refreshIntervalFromEnv } from './jwks/resolver.js';
import { baseMeshConfig } from './mesh-config-source.js';
import { MeshModel } from './model/mesh-model.js';
import type { ControlPlaneOptions, ControlPlaneReady } from './options.js';
import { InstancesSource } from './registry/instances-source.js';
import { AdsServer } from './server/ads-server.js';
import { Snapshot } from './server/snapshot.js';
import { ConfigStore } from './store/config-store.js';
import { FileWatcher } from './store/file-watcher.js';

export interface RunningControlPlane {
  readonly ready: ControlPlaneReady;
  close(): Promise<void>;
}

function bindGrpc(
  server: grpc.Server,
  address: string,
  credentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<RunningControlPlane> {
  const log =
    opts.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  // A mesh config file with errors stops the start, before anything listens (as istiod).
  const meshConfig = await baseMeshConfig(opts.meshConfigFile, log);
  await mkdir(opts.stateDir, { recursive: true });
  const store = new ConfigStore(opts.stateDir);
  await store.loadApplied();
  const watcher = new FileWatcher({
    paths: opts.configPaths,
    store,
    debounceMs: opts.debounceMs,
    log,
  });
  await watcher.start();
  const instances = new InstancesSource(opts.instancesFile, log);
  await instances.start();

  // jwtRules' remote keys, fetched before the first model so proxies start with them.
  // (Changes before the first model need no push: that model reads them.)
  let jwksChanged = (): void => undefined;
  const jwks = new JwksResolver({
    refreshMs: refreshIntervalFromEnv(),
    log,
    onChange: () => jwksChanged(),
  });
  await jwks.ensure(jwksSourcesIn(store.resources()));
  jwks.start();

  // The instances generation the model (and so the last push) was built from.
  let instancesGeneration = 0;
  const buildModel = () => {
    instancesGeneration = instances.generation;
    return MeshModel.build({
      resources: store.resources(),
      instances: instances.instances,
      meshConfig,
      jwks: jwks.snapshot(),
    });
  };
  let model = buildModel();
  const snapshotFor = (node: ProxyNode) =>
    Snapshot.build(generateResources(node, model, { gatewayPorts: opts.gatewayPorts }));
  const ads = new AdsServer({ source: { snapshotFor }, log });
  ads.on('nack', (e: { proxyId: string; typeUrl: string; message: string }) =>
    log(`NACK from ${e.proxyId} for ${e.typeUrl}: ${e.message}`),
  );
  const metrics = new ControlPlaneMetrics({
    version: SKIFF_VERSION,
    model: {
      services: () => model.services.size,
      virtualServices: () => store.resources().filter((r) => r.kind === 'VirtualService').length,
    },
  });
  metrics.attach(ads);

  // Changes arrive in bursts (a file save, an instance coming up): rebuild once per burst.
  let pending: NodeJS.Timeout | undefined;
  const reasons = new Set<string>();
  const onChange = (reason: string) => {
    reasons.add(reason);
    metrics.configChanged(reason);
    pending ??= setTimeout(() => {
      pending = undefined;
      const why = [...reasons].join(', ');
      reasons.clear();
      // New jwksUris are fetched first (as istiod does on its push path), then the model built.
      void jwks.ensure(jwksSourcesIn(store.resources())).then(() => {
        model = buildModel();
        metrics.pushRound(() => ads.push(why));
      });
    }, 10);
  };
  store.on('change', onChange);
  jwksChanged = () => onChange('jwks');
  instances.on('change', () => onChange('instances'));

  const grpcServer = new grpc.Server({ 'grpc.max_send_message_length': -1 });
  ads.register(grpcServer);
  // The CA (src/control-plane/ca): served on both ports; the TLS port also carries ADS.
  // The trust domain in force at start (file, then the istio ConfigMap), fixed until a restart.
  const ca = await startAuthority(opts, model.meshConfig.trustDomain, log);
  registerCaService(grpcServer, { ca: ca.authority, tokenKey: ca.tokenKey, log });
  const grpcPort = await bindGrpc(grpcServer, `${opts.bind}:${opts.grpcPort}`);
  const grpcTlsPort = await bindGrpc(
    grpcServer,
    `${opts.bind}:${opts.grpcTlsPort ?? 0}`,
    await tlsServerCredentials(ca.authority),
  );
  const api = new ApiServer({
    store,
    ads,
    log,
    meshConfig: () => model.meshConfig,
    instancesGeneration: () => instancesGeneration,
    metrics: () => metrics.render(),
    serviceDiscovery: () =>
      httpServiceDiscovery({ stateDir: opts.stateDir, httpAddress: scrapeAddress(), log }),
    prometheusConfig: (scrapeInterval) =>
      prometheusConfig({
        controlPlane: scrapeAddress(),
        ...(scrapeInterval ? { scrapeInterval } : {}),
      }),
    configDump: (proxyId) => {
      const proxy = ads.status().find((p) => p.id === proxyId);
      if (!proxy) return undefined;
      const snapshot = snapshotFor(proxy.node);
      return Object.fromEntries(
        snapshot.types().map((t) => [t, [...snapshot.decoded(t).values()]]),
      );
    },
  });
  const httpAddress: string = await api.listen(opts.httpPort, opts.bind);
  // Where Prometheus reaches /metrics: a wildcard bind is scraped on loopback.
  const scrapeAddress = (): string => httpAddress.replace(/^(0\.0\.0\.0|::)(?=:\d+$)/, '127.0.0.1');
  const ready: ControlPlaneReady = {
    pid: process.pid,
    grpcAddress: `${opts.bind}:${grpcPort}`,
    grpcTlsAddress: `${opts.bind}:${grpcTlsPort}`,
    caRootCert: ca.rootCertFile,
    httpAddress,
  };
  const readyFile = path.join(opts.stateDir, 'control-plane.json');
  await writeFile(`${readyFile}.tmp`, JSON.stringify(ready));
  await rename(`${readyFile}.tmp`, readyFile);
  log(
    `control plane: xDS on ${ready.grpcAddress} and ${ready.grpcTlsAddress} (TLS), HTTP on ${httpAddress}, ${store.resources().length} resource(s)`,
  );

  return {
    ready,
    close: async () => {
      if (pending) clearTimeout(pending);
      watcher.close();
      jwks.close();
      instances.close();
      ads.close();
      grpcServer.forceShutdown();
      await api.close();
    },
  };
}
