// The proxy's identity agent (Istio's pilot-agent SDS side): makes an EC P-256 key and a CSR for
// its SPIFFE id, has the control plane's CA sign it over TLS, installs it as the `default` and
// `ROOTCA` secrets, and renews at half life — with its current certificate as client
// certificate, falling back to the bootstrap token. TLS contexts read the secrets at each
// handshake, so a renewal applies to new connections and never touches open ones.
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  caServiceDefinition,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
  CONTROL_PLANE_DNS,
} from '../../pki/ca-api.js';
import { buildCsr } from './csr.js';
import type { IdentityPem } from './files.js';
import { installIdentity } from './files.js';
import type { SecretStore } from '../tls/secret-store.js';

export interface AgentOptions {
  /** The CA's TLS address, host:port (the control plane's 15012). */
  readonly caAddress: string;
  /** The trust bundle PEM the control plane's serving certificate is checked against. */
  readonly rootCertFile: string;
  /** Bootstrap token file (read at each use: a launcher may re-mint it). */
  readonly tokenFile?: string;
  /** Bootstrap token itself (SKIFF_TOKEN), when no file is given. */
  readonly token?: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly store: SecretStore;
  readonly log: (line: string) => void;
  /** Ask for this lifetime (0: the CA's default), Istio's SECRET_TTL. */
  readonly ttlSeconds?: number;
}

export class IdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

const CaClient = grpc.makeGenericClientConstructor(
  caServiceDefinition,
  'IstioCertificateService',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => grpc.Client & {
  CreateCertificate(
    req: IstioCertificateRequest,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void,
  ): void;
};

/** The control plane proves itself by Istio's istiod DNS SAN, signed by the mesh root. */
export function checkControlPlaneIdentity(_host: string, cert: PeerCertificate): Error | undefined {
  const names = (cert.subjectaltname ?? '').split(/,\s*/);
  return names.includes(`DNS:${CONTROL_PLANE_DNS}`)
    ? undefined
    : new Error(`the control plane's certificate does not name ${CONTROL_PLANE_DNS}`);
}

/**
 * The TLS name the control plane is reached by (SNI and the name checked), whatever the address:
 * an IP address is no valid SNI (RFC 6066 §3), and the serving certificate names istiod.
 */
export const CONTROL_PLANE_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.ssl_target_name_override': CONTROL_PLANE_DNS,
};

/** Errors that retrying will not fix (the proof was refused). */
const FATAL = new Set([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED]);

export class IdentityAgent {
  private current: IdentityPem | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly identity: string;

  constructor(private readonly opts: AgentOptions) {
    this.identity = `spiffe://${opts.trustDomain}/ns/${opts.namespace}/sa/${opts.serviceAccount}`;
  }

  /** The identity in use. */
  get pem(): IdentityPem | undefined {
    return this.current;
  }

  /** Client TLS credentials for the control plane: the root, and the current cert when held. */
  credentials(): grpc.ChannelCredentials {
    const root = readFileSync(this.opts.rootCertFile);
    const cur = this.current;
    return grpc.credentials.createSsl(
      root,
      cur ? Buffer.from(cur.privateKey) : null,
      cur ? Buffer.from(cur.certChain) : null,
      { checkServerIdentity: checkControlPlaneIdentity },
    );
  }

  /**
   * Gets the first certificate (retrying while the CA is unreachable, until `deadlineMs`), then
   * schedules renewals. Throws IdentityError when the CA refuses the proof.
   */
  async start(deadlineMs = 120_000): Promise<void> {
    const until = Date.now() + deadlineMs;
    let delay = 200;
    for (;;) {
      try {
        await this.fetch(false);
        return;
      } catch (err) {
        const code = (err as grpc.ServiceError).code;
        if (FATAL.has(code) || err instanceof IdentityError || Date.now() > until) {
          throw err instanceof IdentityError
            ? err
            : new IdentityError(
                `the CA at ${this.opts.caAddress} refused: ${(err as Error).message}`,
              );
        }
        this.opts.log(`identity: CA not reachable yet (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Renews now (tests, and the timer). */
  async renew(): Promise<void> {
    try {
      await this.fetch(true);
    } catch (err) {
      this.opts.log(
        `identity: renewal with the current certificate failed (${(err as Error).message}); using the token`,
      );
      await this.fetch(false);
    }
  }

  private async fetch(withCert: boolean): Promise<void> {
    const { privateKey, csr } = await buildCsr(this.identity);
    const md = new grpc.Metadata();
    if (!withCert) {
      const token = this.token();
      if (!token) throw new IdentityError('no bootstrap token (--token-file or SKIFF_TOKEN)');
      md.set('authorization', `Bearer ${token}`);
    }
    const creds = withCert
      ? this.credentials()
      : grpc.credentials.createSsl(readFileSync(this.opts.rootCertFile), null, null, {
          checkServerIdentity: checkControlPlaneIdentity,
        });
    const client = new CaClient(this.opts.caAddress, creds, CONTROL_PLANE_CHANNEL_OPTIONS);
    let res: IstioCertificateResponse;
    try {
      res = await new Promise<IstioCertificateResponse>((resolve, reject) =>
        client.CreateCertificate(
          { csr, validity_duration: this.opts.ttlSeconds ?? 0 },
          md,
          { deadline: Date.now() + 10_000 },
          (err, r) => (err ? reject(err) : r ? resolve(r) : reject(new Error('empty response'))),
        ),
      );
    } finally {
      client.close();
    }
    this.install(res.cert_chain, privateKey);
  }

  private token(): string | undefined {
    if (this.opts.tokenFile) {
      try {
        return readFileSync(this.opts.tokenFile, 'utf8').trim();
      } catch (err) {
        throw new IdentityError(`the bootstrap token: ${(err as Error).message}`);
      }
    }
    return this.opts.token;
  }

  /** cert_chain is leaf … root: the last is the root (Istio's agent splits it the same way). */
  private install(chain: readonly string[], privateKey: string): void {
    if (chain.length < 2) throw new IdentityError('the CA returned no chain up to a root');
    const withNl = chain.map((c) => (c.endsWith('\n') ? c : `${c}\n`));
    const leaf = new X509Certificate(withNl[0]!);
    if (!leaf.subjectAltName?.split(/,\s*/).includes(`URI:${this.identity}`)) {
      throw new IdentityError(
        `the CA signed ${leaf.subjectAltName ?? 'nothing'}, not ${this.identity}`,
      );
    }
    const pem: IdentityPem = {
      certChain: withNl.slice(0, -1).join(''),
      privateKey,
      rootCert: readFileSync(this.opts.rootCertFile, 'utf8'),
    };
    installIdentity(this.opts.store, pem);
    this.current = pem;
    this.opts.log(
      `identity: ${this.identity} serial ${leaf.serialNumber.toLowerCase()} until ${leaf.validTo}`,
    );
    this.schedule(leaf);
  }

  /** Renews at half life (Istio's SECRET_GRACE_PERIOD_RATIO 0.5). */
  private schedule(leaf: X509Certificate): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.stopped) return;
    // Half of what is left from now: the CA backdates notBefore for clock skew, which must not
    // count (a few-second certificate would otherwise be renewed in a loop).
    const now = Date.now();
    const to = new Date(leaf.validTo).getTime();
    const at = now + (to - now) / 2;
    const wait = Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      void this.renew().catch((err: Error) => {
        this.opts.log(`identity: renewal failed: ${err.message}; retrying in 1s`);
        if (this.stopped) return;
        this.timer = setTimeout(() => this.schedule(leaf), 1000);
        this.timer.unref();
      });
    }, wait);
    this.timer.unref();
  }
}
