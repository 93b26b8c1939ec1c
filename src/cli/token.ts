// `skiff token`: mints a bootstrap token for a proxy started by hand (another machine), bound to
// one namespace and service account, signed with the control plane's token key
// (`<state>/ca/token-key`). The proxy presents it once to get its first certificate.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { caDirIn } from '../control-plane/ca/start.js';
import { TOKEN_KEY_FILE, loadOrCreateTokenKey, mintToken } from '../control-plane/ca/token.js';
import { CliError, UsageError, type CliIO } from './io.js';
import { currentMesh, type MeshFlags } from './mesh-client.js';
import { durationFlag } from './control-plane.js';

export interface TokenFlags extends MeshFlags {
  namespace: string;
  serviceAccount: string;
  ttl: string;
  /** The control plane's state dir; else the running mesh's. */
  stateDir?: string;
  /** Write the token here (0600) instead of printing it. */
  outputFile?: string;
}

/** Kubernetes names: DNS-1123 labels (namespaces) and subdomains (service accounts). */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function token(flags: TokenFlags, io: CliIO): number {
  if (!LABEL.test(flags.namespace) || flags.namespace.length > 63) {
    throw new UsageError(`--namespace: ${JSON.stringify(flags.namespace)} is not a namespace name`);
  }
  if (!SUBDOMAIN.test(flags.serviceAccount) || flags.serviceAccount.length > 253) {
    throw new UsageError(
      `--service-account: ${JSON.stringify(flags.serviceAccount)} is not a service account name`,
    );
  }
  const ttlMs = durationFlag(flags.ttl, '--ttl');
  const stateDir = flags.stateDir
    ? path.resolve(flags.stateDir)
    : currentMesh(flags).record.stateDir;
  const caDir = caDirIn(stateDir);
  if (!existsSync(path.join(caDir, TOKEN_KEY_FILE))) {
    throw new CliError(
      'ERR_NO_CA',
      `no token key in ${caDir}: start the control plane (skiff up) with that state dir first`,
    );
  }
  const jwt = mintToken(
    loadOrCreateTokenKey(caDir),
    { namespace: flags.namespace, serviceAccount: flags.serviceAccount },
    ttlMs,
  );
  if (flags.outputFile) {
    writeFileSync(flags.outputFile, `${jwt}\n`, { mode: 0o600 });
    chmodSync(flags.outputFile, 0o600); // an existing file keeps its mode otherwise
    io.error(`token for ${flags.namespace}/${flags.serviceAccount} written to ${flags.outputFile}`);
  } else {
    io.log(jwt);
  }
  return 0;
}
