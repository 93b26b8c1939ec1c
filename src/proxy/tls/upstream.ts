// TLS origination to a cluster's hosts (UpstreamTlsContext): SNI, the trusted CA and subject alt
// name matchers (Envoy verifies those, never the hostname), a client certificate for MUTUAL,
// ALPN (h2 for HTTP/2 clusters, as Istio sets it). Connect and handshake failures become Envoy's
// UF with the transport failure reason, `TLS_error:...` for a failed handshake.
import net from 'node:net';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { buildConnector } from 'undici';
import { ConfigError, inField } from '../config-error.js';
import type { ProxyError } from '../errors.js';
import type { TcpKeepalive } from '../upstream/cluster-config.js';
import { applyKeepalive } from '../upstream/keepalive.js';
import { connectFailure } from '../errors.js';
import type { TlsContextConfig } from './context.js';
import {
  UPSTREAM_TLS,
  compileCommonTlsContext,
  resolveTls,
  transportSocketContext,
} from './context.js';
import type { SecretStore } from './secret-store.js';
import { sanAccepted } from './secret.js';

type Obj = Record<string, unknown>;

export interface UpstreamTlsConfig {
  readonly common: TlsContextConfig;
  /** SNI sent (Envoy sends none unless set). */
  readonly sni: string | undefined;
  /** Identifies the settings: pools are rebuilt when it changes. */
  readonly key: string;
}

export function compileUpstreamTransportSocket(ts: Obj | undefined): UpstreamTlsConfig | undefined {
  const typed = inField('transport_socket', () => transportSocketContext(ts, UPSTREAM_TLS));
  if (!typed) return undefined;
  return inField('transport_socket.typed_config', () => {
    const common = inField('common_tls_context', () =>
      compileCommonTlsContext(typed['common_tls_context'] as Obj | undefined),
    );
    if (common.certificates.length > 1)
      throw new ConfigError('common_tls_context', 'a client sends at most one certificate');
    const sni = typeof typed['sni'] === 'string' && typed['sni'] ? typed['sni'] : undefined;
    if (typed['max_session_keys'] !== undefined && Number(typed['max_session_keys']) < 0)
      throw new ConfigError('max_session_keys', 'invalid');
    const { '@type': _t, ...rest } = typed;
    return Object.freeze({ common, sni, key: JSON.stringify(rest) });
  });
}

export interface TlsConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  /** ALPN offered: the cluster's alpn_protocols, narrowed to what the pool speaks. */
  readonly alpn: readonly string[];
  /** The cluster's tcp_keepalive, on the TCP socket under TLS. */
  readonly keepalive?: TcpKeepalive | undefined;
  /** tcp_proxy passes half-closes on: a FIN from the upstream must not end our writing side. */
  readonly allowHalfOpen?: boolean;
}

/** A TLS error as Envoy's transport failure reason reads. */
export function tlsFailure(e: Error & { code?: string }): ProxyError {
  return connectFailure(`TLS_error:|${e.code ?? 'ERR_TLS'}:${e.message}:TLS_error_end`);
}

/** Connects and handshakes; rejects with a ProxyError (UF) whatever fails. */
export function connectTls(
  cfg: UpstreamTlsConfig,
  store: SecretStore,
  o: TlsConnectOptions,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    let material;
    try {
      material = resolveTls(cfg.common, store);
    } catch (e) {
      reject(tlsFailure(e as Error));
      return;
    }
    const validation = material.validation;
    const cert = material.certificates[0];
    const half = o.allowHalfOpen === true;
    const tcp = net.connect({ host: o.host, port: o.port, noDelay: true, allowHalfOpen: half });
    applyKeepalive(tcp, o.keepalive);
    let connected = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: ProxyError | undefined, s?: TLSSocket) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (err) {
        socket.destroy();
        tcp.destroy();
        reject(err);
      } else resolve(s as TLSSocket);
    };
    const socket = tls.connect({
      socket: tcp,
      ...(half ? { allowHalfOpen: true } : {}),
      ...(cfg.sni ? { servername: cfg.sni } : {}),
      ...(o.alpn.length ? { ALPNProtocols: [...o.alpn] } : {}),
      ...(validation?.trustedCa ? { ca: validation.trustedCa } : {}),
      rejectUnauthorized: validation?.trustedCa !== undefined,
      // Envoy checks the subject alt names it is given, never the host name.
      checkServerIdentity: (_host, peer) =>
        validation && !sanAccepted(validation.sanMatchers, peer.subjectaltname)
          ? Object.assign(
              new Error(
                `no subject alt name of the certificate matches (${peer.subjectaltname ?? 'none'})`,
              ),
              { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
            )
          : undefined,
      ...(cert ? { cert: cert.certChain, key: cert.privateKey } : {}),
      ...(cfg.common.minVersion ? { minVersion: cfg.common.minVersion } : {}),
      ...(cfg.common.maxVersion ? { maxVersion: cfg.common.maxVersion } : {}),
      ...(cfg.common.ciphers ? { ciphers: cfg.common.ciphers } : {}),
      ...(cfg.common.ecdhCurves ? { ecdhCurve: cfg.common.ecdhCurves } : {}),
    });
    tcp.once('connect', () => {
      connected = true;
    });
    socket.once('error', (e: Error & { code?: string }) =>
      finish(
        connected ? tlsFailure(e) : connectFailure(`delayed connect error: ${e.code ?? e.message}`),
      ),
    );
    socket.once('close', () =>
      finish(connectFailure('connection closed during the TLS handshake')),
    );
    socket.once('secureConnect', () => {
      socket.removeAllListeners('close');
      socket.on('error', () => undefined);
      finish(undefined, socket);
    });
    if (o.timeoutMs > 0)
      timer = setTimeout(
        () => finish(connectFailure('delayed connect error: timeout')),
        o.timeoutMs,
      );
  });
}

/** undici's `connect` option: a connector that originates TLS as the cluster says. */
export function undiciTlsConnector(
  cfg: UpstreamTlsConfig,
  store: SecretStore,
  timeoutMs: number,
  keepalive: TcpKeepalive | undefined,
): buildConnector.connector {
  // An HTTP/1.1 pool offers no h2 (Envoy's HTTP/1 codec on an h2-only ALPN list sends none).
  const alpn = cfg.common.alpnProtocols.filter((p) => p !== 'h2');
  return ({ hostname, port }, cb) => {
    connectTls(cfg, store, {
      host: hostname.replace(/^\[|\]$/g, ''),
      port: Number(port),
      timeoutMs,
      alpn,
      keepalive,
    }).then(
      (s) => cb(null, s),
      (e: Error) => cb(e, null),
    );
  };
}

/** ALPN for an HTTP/2 session: the cluster's list, h2 when it names none. */
export function h2Alpn(cfg: UpstreamTlsConfig): string[] {
  return cfg.common.alpnProtocols.length ? [...cfg.common.alpnProtocols] : ['h2'];
}

/**
 * A tcp_proxy connection to `host` over its transport socket: TLS with the cluster's ALPN (Istio's
 * `istio-peer-exchange`, `istio` for mesh TCP) when the host has one, else undefined (the caller
 * opens plain TCP).
 */
export function connectHostTls(
  host: {
    readonly address: string;
    readonly port: number;
    readonly tls: UpstreamTlsConfig | undefined;
  },
  store: SecretStore,
  timeoutMs: number,
  keepalive: TcpKeepalive | undefined,
): Promise<TLSSocket> | undefined {
  if (!host.tls) return undefined;
  return connectTls(host.tls, store, {
    host: host.address,
    port: host.port,
    timeoutMs,
    alpn: host.tls.common.alpnProtocols,
    keepalive,
    allowHalfOpen: true,
  }).then((s) => {
    s.on('error', () => undefined);
    return s;
  });
}
