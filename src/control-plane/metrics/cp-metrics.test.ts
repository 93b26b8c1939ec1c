// ControlPlaneMetrics: istiod's names and labels, fed by ADS server events.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { AdsServer, ProxyStatus } from '../server/ads-server.js';
import { TypeUrl } from '../../xds/types.js';
import { ControlPlaneMetrics, grpcCodeName, metricType } from './cp-metrics.js';

function fakeAds(proxies: Partial<ProxyStatus>[] = []): AdsServer & EventEmitter {
  const ads = new EventEmitter() as AdsServer & EventEmitter;
  (ads as unknown as { status: () => Partial<ProxyStatus>[] }).status = () => proxies;
  return ads;
}

function setup(proxies: Partial<ProxyStatus>[] = []) {
  const metrics = new ControlPlaneMetrics({
    version: '0.1.0',
    processMetrics: false,
    model: { services: () => 4, virtualServices: () => 2 },
  });
  const ads = fakeAds(proxies);
  metrics.attach(ads);
  return { metrics, ads, text: async () => (await metrics.render()).text };
}

const push = (streamId: number, typeUrl: string, version: string, reason = 'push') => ({
  proxyId: `p${streamId}`,
  streamId,
  typeUrl,
  version,
  nonce: '1',
  resources: 1,
  reason,
});

test('metric types and gRPC code names are istiod’s', () => {
  assert.equal(metricType(TypeUrl.Cluster), 'cds');
  assert.equal(metricType(TypeUrl.RouteConfiguration), 'rds');
  assert.equal(grpcCodeName(3), 'InvalidArgument');
  assert.equal(grpcCodeName(undefined), 'Unknown');
});

test('counts pushes by type, and times answers to requests', async () => {
  const { ads, text } = setup();
  ads.emit('request', { proxyId: 'p1', streamId: 1, request: {} });
  ads.emit('push', push(1, TypeUrl.Cluster, 'v1', 'request'));
  ads.emit('push', push(1, TypeUrl.Listener, 'v1', 'request'));
  const t = await text();
  assert.match(t, /^pilot_xds_pushes\{type="cds"\} 1$/m);
  assert.match(t, /^pilot_xds_pushes\{type="lds"\} 1$/m);
  assert.match(t, /^pilot_xds_push_time_count\{type="cds"\} 1$/m);
  assert.match(t, /^pilot_xds_push_time_bucket\{le="0.01",type="cds"\} 1$/m);
});

test('a proxy converges once it ACKs every type a config push sent it', async () => {
  const { metrics, ads, text } = setup();
  metrics.configChanged('instances');
  metrics.pushRound(() => {
    ads.emit('push', push(1, TypeUrl.Cluster, 'v2'));
    ads.emit('push', push(1, TypeUrl.ClusterLoadAssignment, 'v2'));
  });
  ads.emit('ack', { proxyId: 'p1', streamId: 1, typeUrl: TypeUrl.Cluster, version: 'v2' });
  assert.match(await text(), /^pilot_proxy_convergence_time_count 0$/m);
  ads.emit('ack', {
    proxyId: 'p1',
    streamId: 1,
    typeUrl: TypeUrl.ClusterLoadAssignment,
    version: 'v2',
  });
  const t = await text();
  assert.match(t, /^pilot_proxy_convergence_time_count 1$/m);
  assert.match(t, /^pilot_push_triggers\{type="endpoint"\} 1$/m);
  assert.match(t, /^pilot_xds_push_time_count\{type="eds"\} 1$/m);
});

test('a NACK counts as a reject, by type and by node and error code', async () => {
  const { metrics, ads, text } = setup();
  metrics.pushRound(() => ads.emit('push', push(1, TypeUrl.Listener, 'v3')));
  ads.emit('request', {
    proxyId: 'p1',
    streamId: 1,
    request: { error_detail: { code: 3, message: 'bad' } },
  });
  ads.emit('nack', {
    proxyId: 'sidecar~127.0.0.1~a-0.default~default.svc.cluster.local',
    streamId: 1,
    typeUrl: TypeUrl.Listener,
    version: 'v3',
    nonce: '1',
    message: 'bad',
  });
  const t = await text();
  assert.match(t, /^pilot_total_xds_rejects\{type="lds"\} 1$/m);
  assert.match(
    t,
    /^pilot_xds_lds_reject\{node="sidecar~127.0.0.1~a-0.default~default.svc.cluster.local",err="InvalidArgument"\} 1$/m,
  );
  // A rejected config never converges.
  assert.match(t, /^pilot_proxy_convergence_time_count 0$/m);
});

test('connected proxies by version, model counts, CSRs at 0, build info', async () => {
  const node = (v: string) => ({ node: { istioVersion: v } }) as unknown as Partial<ProxyStatus>;
  const { text } = setup([node('0.1.0'), node('0.1.0'), node('1.2')]);
  const t = await text();
  assert.match(t, /^pilot_xds\{version="0.1.0"\} 2$/m);
  assert.match(t, /^pilot_xds\{version="1.2"\} 1$/m);
  assert.match(t, /^pilot_services 4$/m);
  assert.match(t, /^pilot_virt_services 2$/m);
  assert.match(t, /^citadel_server_csr_count 0$/m);
  assert.match(t, /^citadel_server_success_cert_issuance_count 0$/m);
  assert.match(t, /^istio_build\{component="pilot",tag="0.1.0"\} 1$/m);
  assert.match(t, /^# TYPE pilot_proxy_convergence_time histogram$/m);
});

test('process metrics by default', async () => {
  const metrics = new ControlPlaneMetrics({ version: '0.1.0' });
  const t = (await metrics.render()).text;
  assert.match(t, /^process_cpu_seconds_total /m);
  assert.match(t, /^process_resident_memory_bytes /m);
});
