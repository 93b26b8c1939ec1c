// Syntax of names, hosts, labels, addresses and ports, as Kubernetes and istiod validate them.
// Each function returns the problem (a message) or undefined when the value is fine.
import { isIP } from 'node:net';

const K8S_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const K8S_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
// Istio's host labels (pkg/config/labels) accept upper case; Kubernetes object names do not.
const HOST_LABEL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** A Kubernetes DNS-1123 label: a namespace, a port name, a subset name. */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && K8S_LABEL.test(s);
}

/** A Kubernetes DNS-1123 subdomain: most object names. */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && K8S_SUBDOMAIN.test(s);
}

/** A DNS-1035 label (starts with a letter): Service names. */
export function isDns1035Label(s: string): boolean {
  return s.length <= 63 && DNS_1035.test(s);
}

export function nameProblem(
  name: string,
  rule: 'label' | 'subdomain' | '1035',
): string | undefined {
  if (rule === 'label' && !isDnsLabel(name)) {
    return `"${name}" is not a valid name: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`;
  }
  if (rule === 'subdomain' && !isDnsSubdomain(name)) {
    return `"${name}" is not a valid name (DNS-1123 subdomain): use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`;
  }
  if (rule === '1035' && !isDns1035Label(name)) {
    return `"${name}" is not a valid Service name (DNS-1035 label): use at most 63 lower-case letters, digits and '-', starting with a letter`;
  }
  return undefined;
}

export function isIpAddress(s: string): boolean {
  return isIP(s) !== 0;
}

/** An IP address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`). */
export function ipOrCidrProblem(s: string): string | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return isIP(s) ? undefined : `"${s}" is not a valid IP address or CIDR block`;
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const family = isIP(ip);
  const max = family === 6 ? 128 : 32;
  if (!family || !/^\d{1,3}$/.test(bits) || Number(bits) > max)
    return `"${s}" is not a valid CIDR block`;
  return undefined;
}

function labelsProblem(domain: string, labels: string[]): string | undefined {
  const tld = labels[labels.length - 1] ?? '';
  if (/^\d+$/.test(tld))
    return `"${domain}" is not a valid host (top-level domain "${tld}" is all digits)`;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] ?? '';
    // A trailing dot (`istio.io.`) is an unambiguous absolute name.
    if (label === '' && i === labels.length - 1 && i > 0) continue;
    if (label.length > 63 || !HOST_LABEL.test(label)) {
      return `"${domain}" is not a valid host (label "${label}" is invalid)`;
    }
  }
  return undefined;
}

function hostPreconditions(host: string): string | undefined {
  if (host === '') return 'host must not be empty';
  if (host.length > 255)
    return `host "${host.slice(0, 40)}..." is too long (at most 255 characters)`;
  if (/:\d+$/.test(host) && !isIpAddress(host)) return `"${host}" must not include a port`;
  return undefined;
}

/**
 * A host name, optionally with a wildcard first label (`*`, `*.example.com`, `*foo.example.com`),
 * as istiod's ValidateWildcardDomain accepts; short names (`reviews`) are fine.
 */
export function wildcardHostProblem(host: string): string | undefined {
  const pre = hostPreconditions(host);
  if (pre) return pre;
  const [first = '', ...rest] = host.split('.');
  if (first.length > 63 || !WILDCARD_LABEL.test(first)) {
    return `"${host}" is not a valid host (label "${first}" is invalid; a wildcard must be the first label, as in *.example.com)`;
  }
  return rest.length > 0 ? labelsProblem(host, rest) : undefined;
}

/** A host name without wildcards. */
export function fqdnProblem(host: string): string | undefined {
  return hostPreconditions(host) ?? labelsProblem(host, host.split('.'));
}

/** `*.example.com` or `*` is fine; `*foo.example.com` and `foo.*.com` are partial wildcards. */
export function isPartialWildcard(host: string): boolean {
  return (
    host.includes('*') && host !== '*' && !(host.startsWith('*.') && !host.slice(2).includes('*'))
  );
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith('*');
}

/** Kubernetes label (and annotation) keys: `[prefix/]name`, prefix a DNS subdomain. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix === '' || !isDnsSubdomain(prefix))) {
    return `invalid key "${key}": the prefix before '/' must be a DNS subdomain (e.g. example.com)`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `invalid key "${key}": the name must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !QUALIFIED_NAME.test(value)) {
    return `invalid value "${value}": use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

export function portProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535
    ? undefined
    : `port number ${port} must be in the range 1..65535`;
}

/** Istio's protocol names (pkg/config/protocol), matched without regard to case. */
const PROTOCOLS = new Set([
  'tcp',
  'udp',
  'grpc',
  'grpc-web',
  'http',
  'http_proxy',
  'http2',
  'https',
  'tls',
  'mongo',
  'redis',
  'mysql',
]);

export function protocolProblem(protocol: string): string | undefined {
  return PROTOCOLS.has(protocol.toLowerCase())
    ? undefined
    : `unsupported protocol "${protocol}" (use HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, UDP, MONGO, REDIS or MYSQL)`;
}

export function isHttpProtocol(protocol: string): boolean {
  return ['http', 'http2', 'http_proxy', 'grpc', 'grpc-web'].includes(protocol.toLowerCase());
}

export function isTlsProtocol(protocol: string): boolean {
  return ['https', 'tls'].includes(protocol.toLowerCase());
}
