// Sidecar meaning checks (istiod's ValidateSidecar): ingress and egress listeners, and the
// `namespace/host` form of egress hosts.
import type { SidecarSpec } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import { checkPort, checkPortName, checkSelectorLabels } from './common.js';
import type { CheckContext } from './common.js';
import { checkDestination } from './destinations.js';
import {
  isDnsLabel,
  isIpAddress,
  isPartialWildcard,
  protocolProblem,
  wildcardHostProblem,
} from './names.js';

interface SidecarPort {
  number?: number;
  protocol?: string;
  name?: string;
  targetPort?: number;
}

export function checkSidecar(spec: SidecarSpec, ctx: CheckContext): void {
  const { report } = ctx;
  if (spec.workloadSelector) {
    checkSelectorLabels(
      report,
      ['spec', 'workloadSelector', 'labels'],
      spec.workloadSelector.labels,
      ['spec', 'workloadSelector'],
    );
  }
  const ingress = spec.ingress ?? [];
  const egress = spec.egress ?? [];
  if (
    ingress.length === 0 &&
    egress.length === 0 &&
    !spec.outboundTrafficPolicy &&
    !spec.inboundConnectionPool
  ) {
    report.error(
      ['spec'],
      'a Sidecar must set ingress, egress, outboundTrafficPolicy or inboundConnectionPool',
      'key',
    );
    return;
  }
  const ingressPorts = new Set<number>();
  ingress.forEach((l, i) => {
    const at = ['spec', 'ingress', i];
    if (!l.port) {
      report.error([...at, 'port'], 'port is required for ingress listeners', 'key');
      return;
    }
    checkListenerPort(report, [...at, 'port'], l.port);
    if (l.port.number !== undefined) {
      if (ingressPorts.has(l.port.number))
        report.error([...at, 'port', 'number'], `duplicate ingress port ${l.port.number}`);
      ingressPorts.add(l.port.number);
    }
    if (l.bind !== undefined && !isIpAddress(l.bind))
      report.error([...at, 'bind'], `bind "${l.bind}" must be an IP address`);
    const ep = l.defaultEndpoint;
    if (ep !== undefined && !ep.startsWith('unix://')) {
      const m = /^(127\.0\.0\.1|0\.0\.0\.0|\[::1\]|\[::\])?:(\d+)$/.exec(ep);
      if (!m)
        report.error(
          [...at, 'defaultEndpoint'],
          'defaultEndpoint must be 127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:<port>, [::]:<port> or unix://<path>',
        );
      else checkPort(report, [...at, 'defaultEndpoint'], Number(m[2]));
    }
  });
  const egressPorts = new Set<number>();
  egress.forEach((l, i) => {
    const at = ['spec', 'egress', i];
    if (!l.port) {
      // One catch-all listener (no port), and only as the last one.
      if (i !== egress.length - 1)
        report.error(at, 'the egress listener without a port must be the last one', 'key');
    } else {
      checkListenerPort(report, [...at, 'port'], l.port);
      if (l.port.number !== undefined) {
        if (egressPorts.has(l.port.number))
          report.error([...at, 'port', 'number'], `duplicate egress port ${l.port.number}`);
        egressPorts.add(l.port.number);
      }
    }
    if (l.bind !== undefined && !l.bind.startsWith('unix://') && !isIpAddress(l.bind)) {
      report.error([...at, 'bind'], `bind "${l.bind}" must be an IP address or unix://path`);
    }
    const hosts = l.hosts ?? [];
    if (hosts.length === 0)
      report.error([...at, 'hosts'], 'an egress listener needs at least one host', 'key');
    hosts.forEach((h, j) => {
      const problem = egressHostProblem(h);
      if (problem) report.error([...at, 'hosts', j], problem);
    });
  });
  const otp = spec.outboundTrafficPolicy;
  if (otp?.egressProxy) {
    if (otp.mode !== 'ALLOW_ANY') {
      report.error(
        ['spec', 'outboundTrafficPolicy', 'egressProxy'],
        'egressProxy needs mode ALLOW_ANY',
        'key',
      );
    }
    checkDestination(report, ['spec', 'outboundTrafficPolicy', 'egressProxy'], otp.egressProxy);
  }
}

function checkListenerPort(report: Reporter, path: FieldPath, port: SidecarPort): void {
  if (port.name !== undefined && port.name !== '')
    checkPortName(report, [...path, 'name'], port.name);
  if (port.number !== undefined) checkPort(report, [...path, 'number'], port.number);
  if (port.protocol !== undefined) {
    const problem = protocolProblem(port.protocol);
    if (problem) report.error([...path, 'protocol'], problem);
  }
  if (port.targetPort !== undefined)
    report.warn([...path, 'targetPort'], 'targetPort has no effect on Sidecars', 'key');
}

/** `namespace/host`: namespace `*`, `.`, `~` or a name; host `*`, `*.example.com` or a FQDN. */
export function egressHostProblem(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  if (slash < 0)
    return `egress host "${entry}" must be of the form namespace/host (e.g. "*/${entry}" or "./${entry}")`;
  const rawNs = entry.slice(0, slash);
  const host = entry.slice(slash + 1);
  if (rawNs === '' || host === '')
    return `egress host "${entry}": namespace and host must not be empty`;
  // `~` (alone or before a namespace) excludes rather than imports.
  const ns = rawNs.replace(/^~/, '');
  if (ns !== '' && ns !== '*' && ns !== '.' && !isDnsLabel(ns))
    return `invalid namespace "${ns}" in egress host "${entry}"`;
  if (host !== '*' && !host.includes('.')) {
    return `short host name "${host}" is not allowed in egress hosts (use a fully qualified name)`;
  }
  if (isPartialWildcard(host))
    return `partial wildcard "${host}" is not allowed (use *.example.com)`;
  return wildcardHostProblem(host);
}
