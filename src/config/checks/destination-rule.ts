// DestinationRule meaning checks (istiod's ValidateDestinationRule): host, subsets, and traffic
// policies (connection pools, load balancer, outlier detection, client TLS, per-port settings).
import type { DestinationRuleSpec } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import {
  checkDuration,
  checkExportTo,
  checkLabels,
  checkPercent,
  checkPort,
  checkSelectorLabels,
} from './common.js';
import type { CheckContext } from './common.js';
import { fqdnProblem, ipOrCidrProblem, isDnsLabel, wildcardHostProblem } from './names.js';

type TrafficPolicy = NonNullable<DestinationRuleSpec['trafficPolicy']>;
type PortPolicy = NonNullable<TrafficPolicy['portLevelSettings']>[number];

export function checkDestinationRule(spec: DestinationRuleSpec, ctx: CheckContext): void {
  const { report } = ctx;
  if (spec.host === undefined || spec.host === '') {
    report.error(['spec', 'host'], 'host is required', 'key');
  } else {
    const problem = wildcardHostProblem(spec.host);
    if (problem) report.error(['spec', 'host'], problem);
  }
  checkTrafficPolicy(report, ['spec', 'trafficPolicy'], spec.trafficPolicy);
  const names = new Set<string>();
  (spec.subsets ?? []).forEach((s, i) => {
    const at = ['spec', 'subsets', i];
    if (!s.name) report.error([...at, 'name'], 'subset name is required', 'key');
    else if (!isDnsLabel(s.name))
      report.error(
        [...at, 'name'],
        `invalid subset name "${s.name}": use a DNS label (lower-case letters, digits, '-')`,
      );
    else if (names.has(s.name)) report.error([...at, 'name'], `duplicate subset name "${s.name}"`);
    if (s.name) names.add(s.name);
    checkLabels(report, [...at, 'labels'], s.labels);
    // The generated subset and rule policy types are the same shape but distinct, and huge:
    // letting TypeScript prove that structurally costs it over a minute, so assert it.
    checkTrafficPolicy(
      report,
      [...at, 'trafficPolicy'],
      s.trafficPolicy as unknown as TrafficPolicy,
    );
  });
  if (spec.workloadSelector) {
    checkSelectorLabels(
      report,
      ['spec', 'workloadSelector', 'matchLabels'],
      spec.workloadSelector.matchLabels,
      ['spec', 'workloadSelector'],
    );
    // A DestinationRule that selects workloads is for this namespace only.
    const exportTo = spec.exportTo ?? [];
    if (exportTo.some((e) => e !== '.' && e !== ctx.namespace)) {
      report.error(
        ['spec', 'exportTo'],
        'a DestinationRule with a workloadSelector can only be exported to its own namespace',
        'key',
      );
    }
  }
  checkExportTo(ctx, ['spec', 'exportTo'], spec.exportTo);
}

export function checkTrafficPolicy(
  report: Reporter,
  path: FieldPath,
  tp: TrafficPolicy | undefined,
): void {
  if (!tp) return;
  if (Object.keys(tp).length === 0) {
    report.error(path, 'trafficPolicy must set at least one field', 'key');
    return;
  }
  if (tp.tunnel && tp.proxyProtocol)
    report.error([...path, 'proxyProtocol'], 'cannot set both tunnel and proxyProtocol', 'key');
  checkPolicyParts(report, path, tp as unknown as PortPolicy); // same shape; see above
  (tp.portLevelSettings ?? []).forEach((p, i) => {
    const at = [...path, 'portLevelSettings', i];
    if (p.port?.number === undefined) report.error([...at, 'port'], 'port is required', 'key');
    else checkPort(report, [...at, 'port', 'number'], p.port.number);
    if (!p.connectionPool && !p.loadBalancer && !p.outlierDetection && !p.tls) {
      report.error(
        at,
        'a port traffic policy must set connectionPool, loadBalancer, outlierDetection or tls',
        'key',
      );
    }
    checkPolicyParts(report, at, p);
  });
  if (tp.tunnel) {
    const { protocol, targetHost, targetPort } = tp.tunnel;
    if (protocol !== undefined && protocol !== 'CONNECT' && protocol !== 'POST') {
      report.error([...path, 'tunnel', 'protocol'], 'tunnel protocol must be CONNECT or POST');
    }
    if (fqdnProblem(targetHost) && ipOrCidrProblem(targetHost)) {
      report.error(
        [...path, 'tunnel', 'targetHost'],
        `tunnel targetHost "${targetHost}" must be a host name or an IP address`,
      );
    }
    checkPort(report, [...path, 'tunnel', 'targetPort'], targetPort);
  }
  if (tp.proxyProtocol?.version !== undefined && !['V1', 'V2'].includes(tp.proxyProtocol.version)) {
    report.error([...path, 'proxyProtocol', 'version'], 'proxy protocol version must be V1 or V2');
  }
}

/** What a traffic policy and a port's traffic policy have in common. */
function checkPolicyParts(report: Reporter, path: FieldPath, p: PortPolicy): void {
  const pool = p.connectionPool;
  if (pool) {
    const at = [...path, 'connectionPool'];
    if (!pool.http && !pool.tcp) report.error(at, 'connectionPool must set http or tcp', 'key');
    if (pool.http) {
      const h = pool.http;
      checkDuration(report, [...at, 'http', 'idleTimeout'], h.idleTimeout);
      if (h.h2UpgradePolicy === 'UPGRADE' && h.useClientProtocol) {
        report.error(
          [...at, 'http', 'useClientProtocol'],
          'useClientProtocol cannot be true when h2UpgradePolicy is UPGRADE',
          'key',
        );
      }
      for (const k of [
        'http1MaxPendingRequests',
        'http2MaxRequests',
        'maxRequestsPerConnection',
        'maxRetries',
        'maxConcurrentStreams',
      ] as const) {
        const v = h[k];
        if (v !== undefined && v < 0) report.error([...at, 'http', k], `${k} must not be negative`);
      }
    }
    if (pool.tcp) {
      const t = pool.tcp;
      checkDuration(report, [...at, 'tcp', 'connectTimeout'], t.connectTimeout);
      checkDuration(report, [...at, 'tcp', 'maxConnectionDuration'], t.maxConnectionDuration);
      // 0s turns the idle timeout off (istiod skips it).
      checkDuration(report, [...at, 'tcp', 'idleTimeout'], t.idleTimeout, { allowZero: true });
      checkDuration(report, [...at, 'tcp', 'tcpKeepalive', 'time'], t.tcpKeepalive?.time);
      checkDuration(report, [...at, 'tcp', 'tcpKeepalive', 'interval'], t.tcpKeepalive?.interval);
      if (t.maxConnections !== undefined && t.maxConnections < 0) {
        report.error([...at, 'tcp', 'maxConnections'], 'maxConnections must not be negative');
      }
    }
  }
  const od = p.outlierDetection;
  if (od) {
    const at = [...path, 'outlierDetection'];
    checkDuration(report, [...at, 'interval'], od.interval);
    checkDuration(report, [...at, 'baseEjectionTime'], od.baseEjectionTime);
    checkPercent(report, [...at, 'maxEjectionPercent'], od.maxEjectionPercent);
    checkPercent(report, [...at, 'minHealthPercent'], od.minHealthPercent);
    if (od.consecutiveErrors !== undefined) {
      report.warn(
        [...at, 'consecutiveErrors'],
        'consecutiveErrors is deprecated; use consecutive5xxErrors or consecutiveGatewayErrors',
        'key',
      );
    }
    if (!od.splitExternalLocalOriginErrors && (od.consecutiveLocalOriginFailures ?? 0) > 0) {
      report.error(
        [...at, 'consecutiveLocalOriginFailures'],
        'consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors: true',
        'key',
      );
    }
  }
  checkLoadBalancer(report, [...path, 'loadBalancer'], p.loadBalancer, od !== undefined);
  checkClientTls(report, [...path, 'tls'], p.tls);
}

function checkLoadBalancer(
  report: Reporter,
  path: FieldPath,
  lb: PortPolicy['loadBalancer'],
  hasOutlier: boolean,
): void {
  if (!lb) return;
  const hash = lb.consistentHash;
  if (hash) {
    const cookie = hash.httpCookie;
    if (cookie) {
      if (!cookie.name)
        report.error(
          [...path, 'consistentHash', 'httpCookie', 'name'],
          'cookie name is required',
          'key',
        );
      checkDuration(report, [...path, 'consistentHash', 'httpCookie', 'ttl'], cookie.ttl, {
        allowZero: true,
      });
    }
    const size = hash.maglev?.tableSize;
    if (size !== undefined && !isPrime(size)) {
      report.error(
        [...path, 'consistentHash', 'maglev', 'tableSize'],
        `maglev tableSize must be a prime number (got ${size})`,
      );
    }
  }
  const locality = lb.localityLbSetting;
  if (locality) {
    const at = [...path, 'localityLbSetting'];
    if ((locality.distribute?.length ?? 0) > 0 && (locality.failover?.length ?? 0) > 0) {
      report.error([...at, 'failover'], 'cannot set both distribute and failover', 'key');
    }
    (locality.distribute ?? []).forEach((d, i) => {
      const total = Object.values(d.to ?? {}).reduce((a, b) => a + b, 0);
      if (total !== 100)
        report.error(
          [...at, 'distribute', i, 'to'],
          `locality weights must add up to 100 (they add up to ${total})`,
          'key',
        );
    });
    if (
      ((locality.failover?.length ?? 0) > 0 || (locality.failoverPriority?.length ?? 0) > 0) &&
      !hasOutlier
    ) {
      report.warn(at, 'locality failover needs outlierDetection to take effect', 'key');
    }
  }
  if (lb.warmup) {
    const at = [...path, 'warmup'];
    if (lb.warmup.duration === undefined)
      report.error([...at, 'duration'], 'warmup duration is required', 'key');
    checkDuration(report, [...at, 'duration'], lb.warmup.duration);
  }
  checkDuration(report, [...path, 'warmupDurationSecs'], lb.warmupDurationSecs);
}

/** Client TLS (istiod's ValidateTLS): MUTUAL needs a client certificate unless a credentialName holds it. */
function checkClientTls(report: Reporter, path: FieldPath, tls: PortPolicy['tls']): void {
  if (!tls) return;
  const files = tls.clientCertificate ?? tls.privateKey ?? tls.caCertificates ?? tls.caCrl;
  if ((tls.mode === 'SIMPLE' || tls.mode === 'MUTUAL') && tls.credentialName) {
    if (files !== undefined) {
      report.error(
        [...path, 'credentialName'],
        'cannot set certificate files together with credentialName',
        'key',
      );
    }
    return;
  }
  if (tls.mode === 'MUTUAL') {
    if (!tls.clientCertificate)
      report.error(
        [...path, 'clientCertificate'],
        'MUTUAL TLS needs clientCertificate (or credentialName)',
        'key',
      );
    if (!tls.privateKey)
      report.error(
        [...path, 'privateKey'],
        'MUTUAL TLS needs privateKey (or credentialName)',
        'key',
      );
  }
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let f = 2; f * f <= n; f++) if (n % f === 0) return false;
  return true;
}
