// The secrets a proxy holds, by SDS name: those the control plane sends over ADS (Gateway
// credentialName's `kubernetes://name`, `kubernetes://name-cacert`), and, as Istio's agent does,
// `file-root:<path>` and `file-cert:<cert>~<key>` read from this machine's disk. TLS contexts
// look their secrets up when a handshake starts, so a secret update applies to new connections.
import { ConfigError } from '../config-error.js';
import type { CompiledSecret } from './secret.js';
import { compileTlsCertificate, compileValidationContext } from './secret.js';

export const FILE_ROOT = 'file-root:';
export const FILE_CERT = 'file-cert:';

/**
 * The workload identity's SDS names, as Istio's agent serves them to Envoy: `default` (the
 * workload's certificate chain and key) and `ROOTCA` (the mesh's trust bundle). skiff's agent is
 * in-process: the identity module puts them in the store (setAgentSecret) and replaces them on
 * rotation; they are never asked for over ADS and resolved at each handshake.
 */
export const WORKLOAD_CERT = 'default';
export const ROOT_CA = 'ROOTCA';

/** Secrets the in-process agent provides (the workload identity), never asked over ADS. */
export function isAgentSecretName(name: string): boolean {
  return name === WORKLOAD_CERT || name === ROOT_CA;
}

/** Secrets the proxy reads itself (Istio agent's file-mounted SDS names), never asked over ADS. */
export function isLocalSecretName(name: string): boolean {
  return name.startsWith(FILE_ROOT) || name.startsWith(FILE_CERT);
}

/** Reads a `file-root:` / `file-cert:` secret; throws a ConfigError naming the file. */
export function readLocalSecret(name: string): CompiledSecret {
  if (name.startsWith(FILE_ROOT)) {
    const filename = name.slice(FILE_ROOT.length);
    return {
      kind: 'validation',
      name,
      validation: compileValidationContext({ trusted_ca: { filename } }),
    };
  }
  const [certFile = '', keyFile = ''] = name.slice(FILE_CERT.length).split('~');
  if (!certFile || !keyFile)
    throw new ConfigError('name', `${name}: expected file-cert:<cert path>~<key path>`);
  return {
    kind: 'certificate',
    name,
    cert: compileTlsCertificate({
      certificate_chain: { filename: certFile },
      private_key: { filename: keyFile },
    }),
  };
}

export class SecretStore {
  private secrets = new Map<string, CompiledSecret>();
  /** Bumped on every change: TLS contexts cache their SecureContext per generation. */
  generation = 0;

  /** Replaces every SDS secret (a state-of-the-world SDS response carries all named ones). */
  apply(secrets: ReadonlyMap<string, CompiledSecret>): void {
    const next = new Map(secrets);
    // Named subscriptions: a response carries the names asked for; keep the others we hold.
    for (const [name, s] of this.secrets) if (!next.has(name)) next.set(name, s);
    this.secrets = next;
    this.generation++;
  }

  /** The agent's secrets (workload identity): set, or replaced on rotation, never dropped. */
  setAgentSecret(secret: CompiledSecret): void {
    if (!isAgentSecretName(secret.name))
      throw new Error(`${secret.name} is not an agent secret name`);
    const next = new Map(this.secrets);
    next.set(secret.name, secret);
    this.secrets = next;
    this.generation++;
  }

  /** Drops secrets no context names any more (never the agent's). */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.secrets.keys())
      if (!names.has(name) && !isAgentSecretName(name)) this.secrets.delete(name);
  }

  has(name: string): boolean {
    return isLocalSecretName(name) || this.secrets.has(name);
  }

  get(name: string): CompiledSecret | undefined {
    return this.secrets.get(name);
  }
}

/** The proxy's secrets (one proxy per process): SDS updates go in, TLS contexts read them. */
export const proxySecrets = new SecretStore();
