// Gateway meaning checks (istiod's ValidateGateway): servers, their ports, hosts and TLS.
import type { GatewaySpec } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import { checkLabels, checkPort } from './common.js';
import type { CheckContext } from './common.js';
import {
  isDnsLabel,
  isHttpProtocol,
  isIpAddress,
  isPartialWildcard,
  isTlsProtocol,
  protocolProblem,
  wildcardHostProblem,
} from './names.js';

type Server = NonNullable<GatewaySpec['servers']>[number];

export function checkGateway(spec: GatewaySpec, ctx: CheckContext): void {
  const { report } = ctx;
  checkLabels(report, ['spec', 'selector'], spec.selector);
  const servers = spec.servers ?? [];
  if (servers.length === 0)
    report.error(['spec', 'servers'], 'at least one server is required', 'key');
  const portNames = new Map<string, number>();
  servers.forEach((s, i) => {
    const at = ['spec', 'servers', i];
    checkServer(report, at, s);
    const name = s.port?.name;
    if (name) {
      if (portNames.has(name))
        report.error(
          [...at, 'port', 'name'],
          `duplicate port name "${name}" (also in servers[${portNames.get(name)}])`,
        );
      else portNames.set(name, i);
    }
  });
}

function checkServer(report: Reporter, path: FieldPath, s: Server): void {
  const hosts = s.hosts ?? [];
  if (hosts.length === 0) report.error([...path, 'hosts'], 'at least one host is required', 'key');
  hosts.forEach((h, i) => {
    const problem = serverHostProblem(h);
    if (problem) report.error([...path, 'hosts', i], problem);
  });
  const port = s.port;
  let protocol: string | undefined;
  if (!port) {
    report.error([...path, 'port'], 'port is required', 'key');
  } else {
    if (port.number === undefined)
      report.error([...path, 'port', 'number'], 'port number is required', 'key');
    else checkPort(report, [...path, 'port', 'number'], port.number);
    if (!port.protocol)
      report.error([...path, 'port', 'protocol'], 'port protocol is required', 'key');
    else {
      const problem = protocolProblem(port.protocol);
      if (problem) report.error([...path, 'port', 'protocol'], problem);
      else protocol = port.protocol;
    }
    if (!port.name) report.error([...path, 'port', 'name'], 'port name is required', 'key');
    if (port.targetPort !== undefined)
      report.warn([...path, 'port', 'targetPort'], 'targetPort has no effect on Gateways', 'key');
  }
  if (s.bind !== undefined && !s.bind.startsWith('unix://') && !isIpAddress(s.bind)) {
    report.error([...path, 'bind'], `bind "${s.bind}" must be an IP address or unix://path`);
  }
  checkServerTls(report, path, s, protocol);
}

/** `host`, or `namespace/host` (namespace `*`, `.` or a name); host `*`, `*.example.com` or a FQDN. */
function serverHostProblem(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  const ns = slash < 0 ? undefined : entry.slice(0, slash);
  const host = slash < 0 ? entry : entry.slice(slash + 1);
  if (ns !== undefined && ns !== '*' && ns !== '.' && !isDnsLabel(ns)) {
    return `invalid namespace "${ns}" in host "${entry}" (use *, . or a namespace name)`;
  }
  if (host === '') return `host "${entry}" has no host name`;
  if (host !== '*' && !host.includes('.') && !isIpAddress(host)) {
    return `short host name "${host}" is not allowed in a Gateway (use a fully qualified name or a wildcard)`;
  }
  if (isIpAddress(host)) return undefined;
  if (isPartialWildcard(host))
    return `partial wildcard "${host}" is not allowed (use *.example.com)`;
  return wildcardHostProblem(host);
}

/** TLS settings must match the protocol (HTTPS/TLS need them; plain HTTP may only redirect). */
function checkServerTls(
  report: Reporter,
  path: FieldPath,
  s: Server,
  protocol: string | undefined,
): void {
  const tls = s.tls;
  const at = [...path, 'tls'];
  if (protocol && isTlsProtocol(protocol) && !tls) {
    report.error(at, `a ${protocol.toUpperCase()} server needs tls settings`, 'key');
    return;
  }
  if (!tls) return;
  if (protocol && !isTlsProtocol(protocol)) {
    // A plain-text HTTP server may carry tls.httpsRedirect, nothing that terminates TLS.
    const passthrough = tls.mode === undefined || tls.mode.endsWith('PASSTHROUGH');
    const certs = tls.serverCertificate ?? tls.privateKey ?? tls.caCertificates;
    if (!isHttpProtocol(protocol))
      report.error(at, `a ${protocol.toUpperCase()} server cannot have tls settings`, 'key');
    else if (!passthrough || certs !== undefined)
      report.error(at, 'a plain-text HTTP server can only set tls.httpsRedirect', 'key');
    return;
  }
  // The API's default mode is PASSTHROUGH (the enum's zero value).
  const mode = tls.mode ?? 'PASSTHROUGH';
  // skiff terminates TLS on HTTPS servers only; a TLS (TCP) server is routed by SNI.
  if (protocol?.toUpperCase() === 'TLS' && !mode.endsWith('PASSTHROUGH'))
    report.warn(
      [...at, 'mode'],
      `not applied by skiff yet: ${mode} on a TLS server (use PASSTHROUGH, or an HTTPS server to terminate)`,
      'value',
    );
  const certFiles = tls.serverCertificate !== undefined || tls.privateKey !== undefined;
  if (mode === 'ISTIO_MUTUAL') {
    for (const k of [
      'serverCertificate',
      'privateKey',
      'caCertificates',
      'credentialName',
    ] as const) {
      if (tls[k] !== undefined)
        report.error(
          [...at, k],
          `ISTIO_MUTUAL uses the mesh certificate: ${k} cannot be set`,
          'key',
        );
    }
    return;
  }
  if (mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') {
    if (certFiles || tls.credentialName !== undefined)
      report.warn(at, `${mode} does not use certificates; they are ignored`, 'key');
    return;
  }
  const sources = [
    certFiles,
    tls.credentialName !== undefined,
    (tls.credentialNames?.length ?? 0) > 0,
    (tls.tlsCertificates?.length ?? 0) > 0,
  ];
  if (sources.filter(Boolean).length > 1) {
    report.error(
      at,
      'set only one of credentialName, credentialNames, tlsCertificates or serverCertificate/privateKey',
      'key',
    );
  }
  const fromCredential = tls.credentialName !== undefined || (tls.credentialNames?.length ?? 0) > 0;
  if (fromCredential) return;
  if ((tls.tlsCertificates?.length ?? 0) === 0) {
    if (!tls.serverCertificate)
      report.error(
        [...at, 'serverCertificate'],
        `${mode} TLS needs credentialName or serverCertificate and privateKey`,
        'key',
      );
    else if (!tls.privateKey)
      report.error(
        [...at, 'privateKey'],
        `${mode} TLS needs privateKey with serverCertificate`,
        'key',
      );
  }
  if ((mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') && !tls.caCertificates) {
    report.error(
      [...at, 'caCertificates'],
      `${mode} TLS needs caCertificates to verify clients (or credentialName)`,
      'key',
    );
  }
}
