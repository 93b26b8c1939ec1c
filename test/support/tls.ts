// Certificates for TLS tests, made at test time with the openssl CLI (no key is committed): a
// test CA and leaf certificates it signs, with the subject alt names asked for; plus the TLS
// apps the tests run and Kubernetes TLS Secrets built from those files.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Pem {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA: `<name>.crt`, `<name>.key` in `dir`. */
export function makeCa(dir: string, name = 'ca'): Pem {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  openssl(
    ['req', '-x509', ...EC, '-keyout', keyFile, '-out', certFile, '-days', '1'].concat([
      '-subj',
      `/CN=skiff test ${name}`,
    ]),
  );
  return {
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    certFile,
    keyFile,
  };
}

/** A leaf certificate signed by `ca`, for `sans` (`DNS:a.example.com`, `URI:spiffe://...`). */
export function makeLeaf(dir: string, name: string, ca: Pem, sans: readonly string[]): Pem {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${sans.join(',')}\n`);
  openssl(['req', ...EC, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-CAcreateserial',
    ].concat(['-out', certFile, '-days', '1', '-extfile', ext]),
  );
  return {
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    certFile,
    keyFile,
  };
}

/** A Kubernetes TLS Secret (credentialName) holding `pem`, and `ca` as ca.crt for MUTUAL. */
export function tlsSecret(name: string, namespace: string, pem: Pem, ca?: Pem): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return `
apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${namespace} }
type: kubernetes.io/tls
data:
  tls.crt: ${b64(pem.cert)}
  tls.key: ${b64(pem.key)}
${ca ? `  ca.crt: ${b64(ca.cert)}\n` : ''}`;
}

/**
 * An HTTPS app (HTTP/2 and HTTP/1.1 by ALPN) with the certificate `<CERT>.crt`/`.key` beside
 * it: answers "<VERSION> http=<version> alpn=<protocol> sni=<server name>".
 */
export const HTTPS_APP = `
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
const name = process.env.CERT;
const server = http2.createSecureServer(
  { cert: readFileSync(name + '.crt'), key: readFileSync(name + '.key'), allowHTTP1: true },
  (req, res) => {
    const socket = req.httpVersion === '2.0' ? req.stream.session.socket : req.socket;
    res.end(process.env.VERSION + ' http=' + req.httpVersion + ' alpn=' + socket.alpnProtocol +
      ' sni=' + (socket.servername || '-'));
  },
);
server.on('tlsClientError', () => {});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** Plain HTTP: "<VERSION> <http version> <path> host=<host> proto=<x-forwarded-proto>". */
export const HTTP_APP = `
import http from 'node:http';
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end(process.env.VERSION + ' ' + req.httpVersion + ' ' + req.url + ' host=' + req.headers.host + ' proto=' + req.headers['x-forwarded-proto']));
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;
