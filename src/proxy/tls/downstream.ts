// TLS termination on a filter chain (DownstreamTlsContext): the chain's SecureContext, rebuilt
// when its SDS secrets change, and the handshake on an accepted socket. A connection whose
// handshake fails (garbage, wrong version, no client certificate under MUTUAL, too slow) is
// closed; nothing about it can reach the proxy's process.
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { SecureContext, TLSSocket } from 'node:tls';
import { ConfigError, inField } from '../config-error.js';
import { durationMs } from '../routes/duration.js';
import type { TlsContextConfig } from './context.js';
import {
  DOWNSTREAM_TLS,
  compileCommonTlsContext,
  resolveTls,
  transportSocketContext,
} from './context.js';
import type { SecretStore } from './secret-store.js';
import { isAgentSecretName } from './secret-store.js';
import type { ValidationMaterial } from './secret.js';
import { sanAccepted } from './secret.js';
import { markPeerVerified } from './peer-identity.js';
import { connectionInfo, peek } from '../listeners/connection.js';
import { parseClientHello } from '../filters/listener/tls_inspector/client-hello.js';

type Obj = Record<string, unknown>;

/** Envoy bounds nothing by default; a handshake that never finishes must not hold a socket. */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface DownstreamTlsConfig {
  readonly common: TlsContextConfig;
  readonly requireClientCertificate: boolean;
  readonly handshakeTimeoutMs: number;
}

export function compileDownstreamTransportSocket(
  ts: Obj | undefined,
  connectTimeout: unknown,
): DownstreamTlsConfig | undefined {
  const typed = inField('transport_socket', () => transportSocketContext(ts, DOWNSTREAM_TLS));
  if (!typed) return undefined;
  return inField('transport_socket.typed_config', () => {
    const common = inField('common_tls_context', () =>
      compileCommonTlsContext(typed['common_tls_context'] as Obj | undefined),
    );
    if (common.certificates.length === 0)
      throw new ConfigError('common_tls_context', 'a server needs a certificate');
    const require = typed['require_client_certificate'];
    const requireClientCertificate =
      require === true || (require as Obj | undefined)?.['value'] === true;
    if (requireClientCertificate && !common.validation && !common.validationSds)
      throw new ConfigError('require_client_certificate', 'needs a validation context');
    if (typed['ocsp_staple_policy'] && typed['ocsp_staple_policy'] !== 'LENIENT_STAPLING')
      throw new ConfigError('ocsp_staple_policy', 'is not supported');
    return Object.freeze({
      common,
      requireClientCertificate,
      handshakeTimeoutMs:
        connectTimeout === undefined
          ? DEFAULT_HANDSHAKE_TIMEOUT_MS
          : durationMs(connectTimeout, 'transport_socket_connect_timeout') ||
            DEFAULT_HANDSHAKE_TIMEOUT_MS,
    });
  });
}

/**
 * The ALPN list the server answers with. BoringSSL (Envoy) selects nothing and goes on when the
 * client's list and its own share no protocol (Istio's clients offer `istio` to servers that
 * list h2, http/1.1); Node's OpenSSL server would end the handshake with a fatal
 * no_application_protocol alert, so a server whose list the client's (read by tls_inspector)
 * does not meet answers without ALPN.
 */
export function serverAlpn(
  own: readonly string[],
  offered: readonly string[] | undefined,
): string[] {
  if (own.length === 0) return [];
  if (offered && offered.length > 0 && !offered.some((p) => own.includes(p))) return [];
  return [...own];
}

export class TlsHandshakeError extends Error {
  readonly code = 'ERR_TLS_HANDSHAKE';
}

/** One filter chain's TLS termination at run time. */
export class DownstreamTls {
  private cached:
    | { generation: number; context: SecureContext; validation: ValidationMaterial | undefined }
    | undefined;

  constructor(
    readonly config: DownstreamTlsConfig,
    private readonly store: SecretStore,
  ) {}

  private secureContext(): { context: SecureContext; validation: ValidationMaterial | undefined } {
    if (this.cached?.generation === this.store.generation) return this.cached;
    const c = this.config.common;
    const material = resolveTls(c, this.store);
    const context = tls.createSecureContext({
      cert: material.certificates.map((m) => m.certChain),
      key: material.certificates.map((m) => m.privateKey),
      ...(material.validation?.trustedCa ? { ca: material.validation.trustedCa } : {}),
      ...(c.minVersion ? { minVersion: c.minVersion } : {}),
      ...(c.maxVersion ? { maxVersion: c.maxVersion } : {}),
      ...(c.ciphers ? { ciphers: c.ciphers } : {}),
      ...(c.ecdhCurves ? { ecdhCurve: c.ecdhCurves } : {}),
    });
    this.cached = { generation: this.store.generation, context, validation: material.validation };
    return this.cached;
  }

  /**
   * SDS secrets this chain needs, all present? The workload identity (`default`, `ROOTCA`) is
   * not awaited: the in-process agent installs it before ADS starts, and a proxy that has none
   * fails those handshakes (STRICT refuses everyone) instead of never serving its plaintext chains.
   */
  ready(): boolean {
    const c = this.config.common;
    const pending = [...c.certificates.flatMap((x) => ('sds' in x ? [x.sds] : [])), c.validationSds]
      .filter((n): n is string => n !== undefined && !isAgentSecretName(n))
      .some((n) => this.store.get(n) === undefined);
    return !pending;
  }

  /**
   * Runs the server handshake on `socket` (whose peeked bytes were put back). Resolves with the
   * decrypted socket; rejects (the caller closes the connection) on any failure.
   */
  async terminate(socket: Socket): Promise<TLSSocket> {
    const offered = await this.offeredAlpn(socket);
    return this.handshake(socket, offered);
  }

  /**
   * The client's ALPN list: from the tls_inspector when it ran, else read from the ClientHello
   * here (only when this chain answers with ALPN: see serverAlpn). undefined: unknown.
   */
  private async offeredAlpn(socket: Socket): Promise<readonly string[] | undefined> {
    if (this.config.common.alpnProtocols.length === 0) return undefined;
    const info = connectionInfo(socket);
    if (info?.transportProtocol === 'tls') return info.applicationProtocols;
    let offered: readonly string[] | undefined;
    try {
      await peek(
        socket,
        (data) => {
          const r = parseClientHello(data);
          if (r.done) offered = r.info.applicationProtocols;
          return r.done;
        },
        this.config.handshakeTimeoutMs,
      );
    } catch {
      return undefined; // the handshake below fails the same way (closed, or too slow)
    }
    return offered;
  }

  private handshake(socket: Socket, offered: readonly string[] | undefined): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      let secureContext: SecureContext;
      let validation: ValidationMaterial | undefined;
      try {
        ({ context: secureContext, validation } = this.secureContext());
      } catch (e) {
        socket.destroy();
        reject(new TlsHandshakeError((e as Error).message));
        return;
      }
      const c = this.config;
      const alpn = serverAlpn(c.common.alpnProtocols, offered);
      const tlsSocket = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext,
        ...(alpn.length ? { ALPNProtocols: alpn } : {}),
        requestCert: validation !== undefined,
        rejectUnauthorized: c.requireClientCertificate,
      });
      let timer: NodeJS.Timeout | undefined = setTimeout(() => {
        fail(new TlsHandshakeError('TLS handshake timeout'));
      }, c.handshakeTimeoutMs);
      const fail = (e: Error) => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        tlsSocket.destroy();
        socket.destroy();
        reject(e);
      };
      tlsSocket.once('error', fail);
      tlsSocket.once('close', () => fail(new TlsHandshakeError('closed during the TLS handshake')));
      tlsSocket.once('secure', () => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        tlsSocket.removeListener('error', fail);
        tlsSocket.removeAllListeners('close');
        tlsSocket.on('error', () => undefined);
        // What tls.Server does for the sockets it accepts (onServerSocketSecure), done here for
        // a socket we accepted ourselves: node:http2 waits for secureConnecting to clear, and
        // the chain verdict on the client certificate is read from the handle.
        const internal = tlsSocket as TLSSocket & {
          secureConnecting?: boolean;
          _handle?: { verifyError?: () => Error | null };
        };
        internal.secureConnecting = false;
        const peer = validation ? tlsSocket.getPeerCertificate() : undefined;
        const presented = peer !== undefined && Object.keys(peer).length > 0;
        const verifyError = presented ? (internal._handle?.verifyError?.() ?? null) : null;
        if (presented && verifyError && validation?.trustedCa !== undefined) {
          fail(new TlsHandshakeError(`client certificate: ${verifyError.message}`));
          return;
        }
        if (presented && validation && !sanAccepted(validation.sanMatchers, peer.subjectaltname)) {
          fail(new TlsHandshakeError('client certificate: no subject alt name matches'));
          return;
        }
        // A chain checked against a trusted CA is an identity authorization may rely on.
        if (presented && !verifyError && validation?.trustedCa !== undefined)
          markPeerVerified(tlsSocket);
        resolve(tlsSocket);
      });
    });
  }
}
