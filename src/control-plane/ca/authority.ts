// The mesh's certificate authority: a self-signed root made on first start (kept in
// `<state>/ca/`, key 0600) or plugged-in certificates in Istio's layout (ca-cert.pem, ca-key.pem,
// root-cert.pem, cert-chain.pem), and the signing of workload and serving certificates.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CryptoKey, SignAlgorithm } from '../../pki/x509.js';
import { CONTROL_PLANE_DNS } from '../../pki/ca-api.js';
import {
  EC_P256,
  generateEcKeys,
  importSigningKey,
  privateKeyPem,
  sansOf,
  splitPem,
  x509,
} from '../../pki/x509.js';

/** Istio's file names for a CA (security/pkg/pki/ca: plugged-in certs, "cacerts"). */
export const CA_FILES = {
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  rootCert: 'root-cert.pem',
  certChain: 'cert-chain.pem',
} as const;

/** Istio's WORKLOAD_CERT_TTL default (24 h) and MAX_WORKLOAD_CERT_TTL default (90 days). */
export const DEFAULT_WORKLOAD_TTL_MS = 24 * 3600_000;
export const DEFAULT_MAX_WORKLOAD_TTL_MS = 90 * 24 * 3600_000;
/** Istio's self-signed root lives 10 years (CITADEL_SELF_SIGNED_CA_CERT_TTL). */
const ROOT_TTL_MS = 10 * 365 * 24 * 3600_000;
/** Backdating absorbs clock skew between hosts (Istio backdates by a minute too). */
const BACKDATE_MS = 60_000;

/** Who the control plane is on its TLS port (Istio's istiod DNS names), plus loopback. */

export class CaError extends Error {
  constructor(
    readonly code: 'ERR_CA_CSR' | 'ERR_CA_IDENTITY' | 'ERR_CA_FILES',
    message: string,
  ) {
    super(message);
    this.name = 'CaError';
  }
}

export interface AuthorityOptions {
  /** `<state>/ca`: where a self-signed root is made and kept, and plugged certs are looked for. */
  readonly dir: string;
  /** Plugged-in certificates (Istio's cacerts layout); takes precedence over `dir`. */
  readonly pluggedDir?: string;
  readonly trustDomain: string;
  readonly defaultTtlMs?: number;
  readonly maxTtlMs?: number;
  readonly now?: () => number;
}

export interface SignedCert {
  /** Leaf PEM. */
  readonly cert: string;
  /** Leaf, intermediates, root: IstioCertificateResponse.cert_chain's order. */
  readonly chain: readonly string[];
}

export class CertificateAuthority {
  private constructor(
    readonly trustDomain: string,
    /** The signing certificate (the root when self-signed, an intermediate when plugged). */
    private readonly caCert: x509.X509Certificate,
    private readonly caKey: { key: CryptoKey; algorithm: SignAlgorithm },
    /** Certificates between the signing cert and the root, signing cert first, root excluded. */
    private readonly intermediates: readonly string[],
    /** The trust bundle (PEM), what proxies check peers against. */
    readonly rootCertPem: string,
    /** Where the CA came from, for the log. */
    readonly source: string,
    readonly defaultTtlMs: number,
    readonly maxTtlMs: number,
    private readonly now: () => number,
  ) {}

  /** Loads plugged-in certs, or the root kept in `dir`, or makes and keeps a new root there. */
  static async open(opts: AuthorityOptions): Promise<CertificateAuthority> {
    const plugged = opts.pluggedDir ?? (hasCaFiles(opts.dir) ? opts.dir : undefined);
    const files = plugged ? readCaFiles(plugged) : await createRoot(opts.dir, opts.trustDomain);
    const caCert = new x509.X509Certificate(files.caCert);
    let caKey;
    try {
      caKey = await importSigningKey(files.caKey);
    } catch (err) {
      throw new CaError('ERR_CA_FILES', `${CA_FILES.caKey}: ${(err as Error).message}`);
    }
    // cert-chain.pem holds the signing cert and what lies between it and the root (Istio's
    // plugin CA); the root itself is distributed separately.
    const rootDer = splitPem(files.rootCert).map((p) => new x509.X509Certificate(p).toString());
    const chain = splitPem(files.certChain ?? '').filter(
      (p) => !rootDer.includes(new x509.X509Certificate(p).toString()),
    );
    const caPem = caCert.toString('pem') + '\n';
    const intermediates =
      chain.length > 0 ? chain : rootDer.includes(caCert.toString()) ? [] : [caPem];
    return new CertificateAuthority(
      opts.trustDomain,
      caCert,
      caKey,
      intermediates,
      files.rootCert,
      plugged ? `plugged-in certificates in ${plugged}` : `self-signed root in ${opts.dir}`,
      opts.defaultTtlMs ?? DEFAULT_WORKLOAD_TTL_MS,
      opts.maxTtlMs ?? Math.max(DEFAULT_MAX_WORKLOAD_TTL_MS, opts.defaultTtlMs ?? 0),
      opts.now ?? Date.now,
    );
  }

  /** The root certificates (PEM blocks). */
  get roots(): string[] {
    return splitPem(this.rootCertPem);
  }

  /**
   * Signs a workload CSR for `identity` (a SPIFFE URI the caller proved). The CSR must be
   * self-signed correctly and ask for exactly that URI and nothing else.
   */
  async signWorkload(csrPem: string, identity: string, ttlMs?: number): Promise<SignedCert> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (err) {
      throw new CaError('ERR_CA_CSR', `the CSR does not parse: ${(err as Error).message}`);
    }
    if (!(await csr.verify())) throw new CaError('ERR_CA_CSR', 'the CSR signature is invalid');
    const sans = sansOf(csr.extensions);
    const asked = sans.map((s) => (s.type === 'url' ? s.value : `${s.type}:${s.value}`));
    if (asked.length !== 1 || asked[0] !== identity) {
      throw new CaError(
        'ERR_CA_IDENTITY',
        `the CSR asks for [${asked.join(', ')}] but the caller proved ${identity}`,
      );
    }
    const ttl = Math.min(ttlMs && ttlMs > 0 ? ttlMs : this.defaultTtlMs, this.maxTtlMs);
    const now = this.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: '',
      issuer: this.caCert.subject,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + ttl),
      signingAlgorithm: this.caKey.algorithm,
      signingKey: this.caKey.key,
      publicKey: csr.publicKey,
      extensions: [
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension(
          [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
          false,
        ),
        new x509.BasicConstraintsExtension(false, undefined, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.caCert, false),
        // An empty subject makes the SAN critical (RFC 5280 §4.2.1.6), as Istio's certs have it.
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }], true),
      ],
    });
    return this.withChain(cert);
  }

  /** The control plane's serving certificate for its TLS port (fresh key, signed by the CA). */
  async servingCert(ttlMs = 365 * 24 * 3600_000): Promise<{ chain: string; key: string }> {
    const keys = await generateEcKeys();
    const now = this.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: 'O=skiff, CN=istiod',
      issuer: this.caCert.subject,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + ttlMs),
      signingAlgorithm: this.caKey.algorithm,
      signingKey: this.caKey.key,
      publicKey: keys.publicKey,
      extensions: [
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: CONTROL_PLANE_DNS },
          { type: 'dns', value: 'istiod.istio-system' },
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
        ]),
      ],
    });
    const signed = this.withChain(cert);
    const noRoot = signed.chain.filter((c) => !this.roots.includes(c));
    return { chain: noRoot.join(''), key: await privateKeyPem(keys.privateKey) };
  }

  /** Whether this CA signed `cert` and it is valid now (what a renewal presents). */
  async issued(cert: x509.X509Certificate): Promise<boolean> {
    const now = this.now();
    if (cert.notBefore.getTime() > now || cert.notAfter.getTime() <= now) return false;
    if (cert.issuer !== this.caCert.subject) return false;
    try {
      return await cert.verify({ publicKey: this.caCert.publicKey, signatureOnly: true });
    } catch {
      return false;
    }
  }

  private withChain(cert: x509.X509Certificate): SignedCert {
    const leaf = cert.toString('pem') + '\n';
    const roots = this.roots;
    const between = this.intermediates.filter((p) => !roots.includes(p));
    return { cert: leaf, chain: [leaf, ...between, ...roots] };
  }
}

/** A positive 128-bit serial (RFC 5280 §4.1.2.2: at most 20 octets, positive). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function hasCaFiles(dir: string): boolean {
  return [CA_FILES.caCert, CA_FILES.caKey, CA_FILES.rootCert].every((f) =>
    existsSync(path.join(dir, f)),
  );
}

interface CaFiles {
  caCert: string;
  caKey: string;
  rootCert: string;
  certChain?: string;
}

function readCaFiles(dir: string): CaFiles {
  const read = (f: string, optional = false): string | undefined => {
    const file = path.join(dir, f);
    if (optional && !existsSync(file)) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new CaError('ERR_CA_FILES', `${file}: ${(err as Error).message}`);
    }
  };
  const chain = read(CA_FILES.certChain, true);
  return {
    caCert: read(CA_FILES.caCert)!,
    caKey: read(CA_FILES.caKey)!,
    rootCert: read(CA_FILES.rootCert)!,
    ...(chain ? { certChain: chain } : {}),
  };
}

/** Makes a self-signed EC P-256 root and keeps it in `dir` (Istio's self-signed CA). */
async function createRoot(dir: string, trustDomain: string): Promise<CaFiles> {
  const keys = await generateEcKeys();
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `O=${trustDomain}`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + ROOT_TTL_MS),
    signingAlgorithm: EC_P256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign |
          x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const cert = root.toString('pem') + '\n';
  const key = await privateKeyPem(keys.privateKey);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The key first, created exclusively with 0600: nobody else may read it, not even briefly.
  rmSync(path.join(dir, CA_FILES.caKey), { force: true }); // a half-made root of a crashed start
  writeFileSync(path.join(dir, CA_FILES.caKey), key, { mode: 0o600, flag: 'wx' });
  writeFileSync(path.join(dir, CA_FILES.caCert), cert, { mode: 0o644 });
  writeFileSync(path.join(dir, CA_FILES.rootCert), cert, { mode: 0o644 });
  return { caCert: cert, caKey: key, rootCert: cert };
}
