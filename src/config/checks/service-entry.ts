// ServiceEntry, WorkloadEntry and WorkloadGroup meaning checks (istiod's ValidateServiceEntry,
// ValidateWorkloadEntry, ValidateWorkloadGroup): hosts, resolution versus endpoints, ports.
import type { ServiceEntrySpec, WorkloadEntrySpec, WorkloadGroupSpec } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import {
  checkExportTo,
  checkLabels,
  checkPort,
  checkPortName,
  checkSelectorLabels,
} from './common.js';
import type { CheckContext } from './common.js';
import {
  fqdnProblem,
  ipOrCidrProblem,
  isHttpProtocol,
  isIpAddress,
  isPartialWildcard,
  isTlsProtocol,
  isWildcardHost,
  protocolProblem,
  wildcardHostProblem,
} from './names.js';

const UNIX = 'unix://';

export function checkServiceEntry(spec: ServiceEntrySpec, ctx: CheckContext): void {
  const { report } = ctx;
  const resolution = spec.resolution ?? 'NONE';
  const hosts = spec.hosts ?? [];
  const endpoints = spec.endpoints ?? [];
  const addresses = spec.addresses ?? [];
  if (spec.workloadSelector && spec.endpoints) {
    report.error(['spec', 'endpoints'], 'cannot set both workloadSelector and endpoints', 'key');
  }
  if (spec.workloadSelector) {
    checkSelectorLabels(
      report,
      ['spec', 'workloadSelector', 'labels'],
      spec.workloadSelector.labels,
      ['spec', 'workloadSelector'],
    );
  }
  if (hosts.length === 0) report.error(['spec', 'hosts'], 'at least one host is required', 'key');
  hosts.forEach((h, i) => {
    const problem =
      h === '*' ? 'host "*" is not allowed in a ServiceEntry' : wildcardHostProblem(h);
    if (problem) report.error(['spec', 'hosts', i], problem);
    else if (resolution !== 'DYNAMIC_DNS' && isPartialWildcard(h)) {
      report.warn(
        ['spec', 'hosts', i],
        `partial wildcard "${h}" is not supported (use *.example.com)`,
      );
    }
  });
  addresses.forEach((a, i) => {
    const problem = ipOrCidrProblem(a);
    if (problem) report.error(['spec', 'addresses', i], problem);
    else if (a.includes('/') && resolution !== 'NONE' && resolution !== 'STATIC') {
      report.error(
        ['spec', 'addresses', i],
        `CIDR addresses need resolution NONE or STATIC (not ${resolution})`,
      );
    }
  });
  const portNames = new Set<string>();
  const portNumbers = new Set<number>();
  (spec.ports ?? []).forEach((p, i) => {
    const at = ['spec', 'ports', i];
    checkPortName(report, [...at, 'name'], p.name);
    if (portNames.has(p.name)) report.error([...at, 'name'], `duplicate port name "${p.name}"`);
    if (portNumbers.has(p.number)) report.error([...at, 'number'], `duplicate port ${p.number}`);
    portNames.add(p.name);
    portNumbers.add(p.number);
    checkPort(report, [...at, 'number'], p.number);
    if (p.targetPort !== undefined) checkPort(report, [...at, 'targetPort'], p.targetPort);
    const problem = p.protocol ? protocolProblem(p.protocol) : undefined;
    if (problem) report.error([...at, 'protocol'], problem);
  });

  switch (resolution) {
    case 'NONE':
      if (endpoints.length > 0)
        report.error(
          ['spec', 'endpoints'],
          'resolution NONE cannot have endpoints (use STATIC or DNS)',
          'key',
        );
      if (spec.workloadSelector)
        report.warn(
          ['spec', 'workloadSelector'],
          'workloadSelector has no effect with resolution NONE',
          'key',
        );
      break;
    case 'STATIC':
      if (endpoints.length === 0 && !spec.workloadSelector) {
        report.error(
          ['spec', 'resolution'],
          'resolution STATIC needs endpoints or a workloadSelector',
        );
      }
      endpoints.forEach((e, i) =>
        checkEndpoint(report, ['spec', 'endpoints', i], e, {
          servicePorts: portNames,
          allowFqdn: false,
        }),
      );
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      if (endpoints.length === 0) {
        const i = hosts.findIndex((h) => isWildcardHost(h) || fqdnProblem(h) !== undefined);
        if (i >= 0) {
          report.error(
            ['spec', 'hosts', i],
            `with resolution ${resolution} and no endpoints, hosts must be fully qualified names without wildcards`,
          );
        }
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
        report.error(
          ['spec', 'endpoints'],
          'resolution DNS_ROUND_ROBIN allows at most one endpoint',
          'key',
        );
      }
      endpoints.forEach((e, i) =>
        checkEndpoint(report, ['spec', 'endpoints', i], e, {
          servicePorts: portNames,
          allowFqdn: true,
        }),
      );
      break;
    case 'DYNAMIC_DNS':
      hosts.forEach((h, i) => {
        if (!isWildcardHost(h))
          report.error(['spec', 'hosts', i], 'resolution DYNAMIC_DNS needs wildcard hosts');
      });
      if (addresses.length > 0)
        report.error(['spec', 'addresses'], 'resolution DYNAMIC_DNS cannot have addresses', 'key');
      if (endpoints.length > 0)
        report.error(['spec', 'endpoints'], 'resolution DYNAMIC_DNS cannot have endpoints', 'key');
      (spec.ports ?? []).forEach((p, i) => {
        const proto = (p.protocol ?? '').toUpperCase();
        if (!['HTTP', 'TLS', 'GRPC', 'HTTP2'].includes(proto)) {
          report.error(
            ['spec', 'ports', i, 'protocol'],
            'resolution DYNAMIC_DNS supports only HTTP, HTTP2, GRPC and TLS ports',
          );
        }
      });
      break;
  }
  // Plain TCP cannot tell hosts apart (no Host header, no SNI), unless nothing is resolved.
  if (resolution !== 'NONE' && hosts.length > 1) {
    const i = (spec.ports ?? []).findIndex(
      (p) => !isHttpProtocol(p.protocol ?? '') && !isTlsProtocol(p.protocol ?? ''),
    );
    if (i >= 0)
      report.error(
        ['spec', 'ports', i],
        'several hosts need HTTP or TLS ports: a TCP port cannot tell them apart',
      );
  }
  checkExportTo(ctx, ['spec', 'exportTo'], spec.exportTo, { allowNone: true });
}

interface EndpointOptions {
  /** Names of the ServiceEntry's ports that endpoint ports may refer to (none for a WorkloadEntry). */
  readonly servicePorts?: ReadonlySet<string>;
  /** DNS resolution: an endpoint may be a host name. */
  readonly allowFqdn: boolean;
}

type Endpoint = WorkloadEntrySpec;

function checkEndpoint(
  report: Reporter,
  path: FieldPath,
  e: Endpoint,
  opts: EndpointOptions,
): void {
  const address = e.address ?? '';
  if (address === '') {
    if (!e.network)
      report.error([...path, 'address'], 'address is required (unless network is set)', 'key');
    else report.warn([...path, 'address'], `address is unset with network "${e.network}"`, 'key');
  } else if (address.startsWith(UNIX)) {
    const file = address.slice(UNIX.length);
    if (!file.startsWith('/') && !file.startsWith('@'))
      report.error(
        [...path, 'address'],
        `"${address}" must be unix:///absolute/path or unix://@abstract`,
      );
    if (Object.keys(e.ports ?? {}).length > 0)
      report.error([...path, 'ports'], 'a unix socket endpoint cannot have ports', 'key');
  } else if (!isIpAddress(address)) {
    if (!opts.allowFqdn)
      report.error(
        [...path, 'address'],
        `endpoint address "${address}" must be an IP address (resolution STATIC)`,
      );
    else if (fqdnProblem(address))
      report.error(
        [...path, 'address'],
        `endpoint address "${address}" is not an IP address or a host name`,
      );
  }
  for (const [name, port] of Object.entries(e.ports ?? {})) {
    checkPortName(report, [...path, 'ports', name], name);
    checkPort(report, [...path, 'ports', name], port);
    if (opts.servicePorts && !opts.servicePorts.has(name)) {
      report.error(
        [...path, 'ports', name],
        `port "${name}" is not one of the ServiceEntry's ports`,
        'key',
      );
    }
  }
  checkLabels(report, [...path, 'labels'], e.labels);
}

export function checkWorkloadEntry(spec: WorkloadEntrySpec, ctx: CheckContext): void {
  checkEndpoint(ctx.report, ['spec'], spec, { allowFqdn: true });
}

export function checkWorkloadGroup(spec: WorkloadGroupSpec, ctx: CheckContext): void {
  const { report } = ctx;
  if (!spec.template) report.error(['spec', 'template'], 'template is required', 'key');
  checkLabels(report, ['spec', 'metadata', 'labels'], spec.metadata?.labels);
  const probe = spec.probe;
  if (!probe) return;
  const at = ['spec', 'probe'];
  for (const k of [
    'periodSeconds',
    'initialDelaySeconds',
    'timeoutSeconds',
    'successThreshold',
    'failureThreshold',
  ] as const) {
    const v = probe[k];
    if (v !== undefined && v < 0) report.error([...at, k], `${k} must not be negative`);
  }
  if (probe.httpGet) {
    checkPort(report, [...at, 'httpGet', 'port'], probe.httpGet.port);
    const scheme = probe.httpGet.scheme;
    if (scheme !== undefined && scheme !== 'HTTP' && scheme !== 'HTTPS') {
      report.error([...at, 'httpGet', 'scheme'], 'scheme must be HTTP or HTTPS');
    }
  }
  if (probe.tcpSocket) checkPort(report, [...at, 'tcpSocket', 'port'], probe.tcpSocket.port);
  if (probe.exec && probe.exec.command.length === 0)
    report.error([...at, 'exec', 'command'], 'command must not be empty', 'key');
}
