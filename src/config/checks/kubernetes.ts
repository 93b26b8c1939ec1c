// Kubernetes `v1 Service` and `v1 Secret`: their schema (real fields skiff ignores are accepted),
// the rules the Kubernetes API server enforces that matter here, and their normalised specs.
import type { SecretSpec, ServicePort, ServiceSpec } from '../kinds.js';
import { S } from '../shape.js';
import type { Shape } from '../shape.js';
import { checkLabels, checkPort, isObject } from './common.js';
import type { CheckContext } from './common.js';
import { fqdnProblem, isDnsLabel, isIpAddress } from './names.js';

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

export const SERVICE_SPEC: Shape = S.object({
  selector: S.map(S.string),
  ports: S.array(
    S.object(
      {
        name: S.string,
        port: S.integer,
        targetPort: S.intOrString,
        protocol: S.enum('TCP', 'UDP', 'SCTP'),
        appProtocol: S.string,
        nodePort: S.integer,
      },
      ['port'],
    ),
  ),
  type: S.enum(...SERVICE_TYPES),
  clusterIP: S.string,
  clusterIPs: S.array(S.string),
  externalName: S.string,
  // Real Service fields that mean nothing on one machine: accepted, ignored.
  externalIPs: S.array(S.string),
  sessionAffinity: S.enum('None', 'ClientIP'),
  sessionAffinityConfig: S.any,
  loadBalancerIP: S.string,
  loadBalancerSourceRanges: S.array(S.string),
  loadBalancerClass: S.string,
  externalTrafficPolicy: S.string,
  internalTrafficPolicy: S.string,
  healthCheckNodePort: S.integer,
  publishNotReadyAddresses: S.boolean,
  ipFamilies: S.array(S.string),
  ipFamilyPolicy: S.string,
  allocateLoadBalancerNodePorts: S.boolean,
  trafficDistribution: S.string,
});

interface RawServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
  nodePort?: number;
}

interface RawService {
  selector?: Record<string, string>;
  ports?: RawServicePort[];
  type?: ServiceSpec['type'];
  clusterIP?: string;
  clusterIPs?: string[];
  externalName?: string;
}

// A named targetPort refers to a container port name (Kubernetes' IANA_SVC_NAME).
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;

export function checkService(raw: unknown, ctx: CheckContext): void {
  const { report } = ctx;
  const spec = (isObject(raw) ? raw : {}) as RawService;
  const type = spec.type ?? 'ClusterIP';
  const ports = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (ports.length === 0 && !headless && type !== 'ExternalName') {
    report.error(['spec', 'ports'], 'at least one port is required', 'key');
  }
  const names = new Set<string>();
  const numbers = new Set<string>();
  ports.forEach((p, i) => {
    const at = ['spec', 'ports', i];
    if (p.name === undefined || p.name === '') {
      if (ports.length > 1)
        report.error(
          [...at, 'name'],
          'port name is required when a Service has several ports',
          'key',
        );
    } else if (!isDnsLabel(p.name)) {
      report.error(
        [...at, 'name'],
        `invalid port name "${p.name}": use at most 63 lower-case letters, digits and '-'`,
      );
    } else if (names.has(p.name)) {
      report.error([...at, 'name'], `duplicate port name "${p.name}"`);
    }
    if (p.name) names.add(p.name);
    checkPort(report, [...at, 'port'], p.port);
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (numbers.has(key))
      report.error([...at, 'port'], `duplicate port ${p.port} (${p.protocol ?? 'TCP'})`);
    numbers.add(key);
    const target = p.targetPort;
    if (typeof target === 'number') checkPort(report, [...at, 'targetPort'], target);
    else if (typeof target === 'string' && (target.length > 15 || !IANA_SVC_NAME.test(target))) {
      report.error(
        [...at, 'targetPort'],
        `invalid targetPort "${target}": a port number (1..65535) or a port name (at most 15 lower-case letters, digits and '-', with a letter)`,
      );
    }
    if (p.nodePort !== undefined) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') {
        report.error(
          [...at, 'nodePort'],
          `nodePort can only be set when type is NodePort or LoadBalancer (type is ${type})`,
          'key',
        );
      } else checkPort(report, [...at, 'nodePort'], p.nodePort);
    }
  });
  checkLabels(report, ['spec', 'selector'], spec.selector);
  if (
    spec.clusterIP !== undefined &&
    spec.clusterIP !== '' &&
    !headless &&
    !isIpAddress(spec.clusterIP)
  ) {
    report.error(
      ['spec', 'clusterIP'],
      `clusterIP "${spec.clusterIP}" must be an IP address, "None" or empty`,
    );
  }
  (spec.clusterIPs ?? []).forEach((ip, i) => {
    if (ip !== 'None' && !isIpAddress(ip))
      report.error(['spec', 'clusterIPs', i], `"${ip}" is not an IP address`);
  });
  if (type === 'ExternalName') {
    const problem = spec.externalName
      ? fqdnProblem(spec.externalName)
      : 'externalName is required when type is ExternalName';
    if (problem)
      report.error(['spec', 'externalName'], problem, spec.externalName ? 'value' : 'key');
  }
}

export function normalizeService(raw: unknown): ServiceSpec {
  const spec = (isObject(raw) ? raw : {}) as RawService;
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    port: p.port,
    targetPort: p.targetPort ?? p.port,
    protocol: p.protocol ?? 'TCP',
    ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
    ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
  }));
  return {
    ...(spec.selector ? { selector: spec.selector } : {}),
    ports,
    type: spec.type ?? 'ClusterIP',
    ...(spec.clusterIP !== undefined ? { clusterIP: spec.clusterIP } : {}),
    ...(spec.clusterIPs ? { clusterIPs: spec.clusterIPs } : {}),
    ...(spec.externalName !== undefined ? { externalName: spec.externalName } : {}),
  };
}

/** A Secret's top-level fields (Secrets have no spec). */
export const SECRET_FIELDS: Readonly<Record<string, Shape>> = {
  type: S.string,
  data: S.map(S.string),
  stringData: S.map(S.string),
  immutable: S.boolean,
};

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TLS_TYPE = 'kubernetes.io/tls';

export function checkSecret(obj: Record<string, unknown>, ctx: CheckContext): void {
  const { report } = ctx;
  const s = normalizeSecret(obj);
  if (s.type !== 'Opaque' && s.type !== TLS_TYPE) {
    report.warn(['type'], `skiff uses only Opaque and ${TLS_TYPE} Secrets (type is "${s.type}")`);
  }
  for (const field of ['data', 'stringData'] as const) {
    for (const [key, value] of Object.entries(s[field])) {
      if (!SECRET_KEY.test(key))
        report.error(
          [field, key],
          `invalid key "${key}": use letters, digits, '-', '_' and '.'`,
          'key',
        );
      if (field === 'data' && !BASE64.test(value.replace(/\s+/g, '')))
        report.error([field, key], 'value is not valid base64');
    }
  }
  if (s.type === TLS_TYPE) {
    for (const key of ['tls.crt', 'tls.key']) {
      if (s.data[key] === undefined && s.stringData[key] === undefined) {
        report.error(['data'], `a ${TLS_TYPE} Secret needs "${key}"`, 'key');
      }
    }
  }
}

export function normalizeSecret(obj: Record<string, unknown>): SecretSpec {
  const str = (v: unknown): Record<string, string> =>
    isObject(v) ? (v as Record<string, string>) : {};
  return {
    type: typeof obj['type'] === 'string' ? obj['type'] : 'Opaque',
    data: str(obj['data']),
    stringData: str(obj['stringData']),
    ...(typeof obj['immutable'] === 'boolean' ? { immutable: obj['immutable'] } : {}),
  };
}
