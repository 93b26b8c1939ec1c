// How the mesh commands reach a running mesh: its record (found like git finds a repository),
// the control plane's HTTP API, a proxy's admin API.
import http from 'node:http';
import type { LocatedMesh } from '../launcher/mesh-record.js';
import { locateMesh } from '../launcher/mesh-record.js';
import { httpBase } from '../launcher/probes.js';
import { CliError, ProblemsError } from './io.js';

export interface MeshFlags {
  /** `--mesh FILE`: a mesh record other than the one found from the cwd. */
  mesh?: string;
}

export function currentMesh(flags: MeshFlags): LocatedMesh {
  return locateMesh(flags.mesh ? { meshFile: flags.mesh } : {});
}

export interface JsonReply {
  readonly status: number;
  readonly body: unknown;
}

/** One JSON request; throws CliError when the server cannot be reached or answers non-JSON. */
export function requestJson(
  url: string,
  opts: { method?: string; body?: unknown; what: string },
): Promise<JsonReply> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? 'GET',
        agent: false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: text ? (JSON.parse(text) as unknown) : null,
            });
          } catch {
            reject(
              new CliError(
                'ERR_BAD_REPLY',
                `${opts.what} answered ${res.statusCode} with non-JSON: ${text.slice(0, 200)}`,
              ),
            );
          }
        });
      },
    );
    req.on('error', (err) =>
      reject(
        new CliError('ERR_UNREACHABLE', `cannot reach ${opts.what} at ${url}: ${err.message}`),
      ),
    );
    req.end(payload);
  });
}

/** The control plane's HTTP API of the current mesh. */
export class ControlPlaneClient {
  constructor(private readonly httpAddress: string) {}

  static of(mesh: LocatedMesh): ControlPlaneClient {
    return new ControlPlaneClient(mesh.record.controlPlane.httpAddress);
  }

  request(method: string, path: string, body?: unknown): Promise<JsonReply> {
    return requestJson(`${httpBase(this.httpAddress)}${path}`, {
      method,
      ...(body !== undefined ? { body } : {}),
      what: 'the control plane',
    });
  }
}

/** Problem lines from a refusal body (`{"problems": [...]}`), else a one-line error. */
export function refusal(reply: JsonReply, what: string): Error {
  const problems = (reply.body as { problems?: unknown } | null)?.problems;
  if (Array.isArray(problems) && problems.length > 0) {
    return new ProblemsError(problems.map(String));
  }
  const error = (reply.body as { error?: unknown } | null)?.error;
  return new CliError(
    'ERR_REFUSED',
    `${what} failed: HTTP ${reply.status}${error ? `: ${String(error)}` : ''}`,
  );
}
