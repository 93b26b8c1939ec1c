// The control plane's HTTP API: apply/delete/get (validated exactly as `skiff validate` does),
// the debug endpoints (/debug/syncz for proxy-status, /debug/sync, /debug/config_dump,
// /debug/configz), the control plane's /metrics, and Prometheus HTTP service discovery.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfigText } from '../../config/parse.js';
import type { ConfigProblem, ConfigResource } from '../../config/resource.js';
import { formatProblem, resourceKey } from '../../config/resource.js';
import { analyzeConfig } from '../model/analysis.js';
import { settled } from '../server/ads-server.js';
import type { AdsServer } from '../server/ads-server.js';
import type { ConfigStore } from '../store/config-store.js';
import { resolveKindName } from './kind-names.js';

export interface ApiDeps {
  readonly store: ConfigStore;
  readonly ads: AdsServer;
  /** What the control plane would send a proxy now, decoded, by type URL. */
  configDump(proxyId: string): Record<string, unknown> | undefined;
  /** The mesh config in force (istiod's /debug/mesh). */
  meshConfig?(): unknown;
  /** The instances-file generation the last push was built from. */
  instancesGeneration?(): number;
  readonly log: (line: string) => void;
  /** GET /metrics: the control plane's own metrics, Prometheus text (istiod's 15014). */
  metrics?(): Promise<{ contentType: string; text: string }>;
  /** GET /prometheus/http_sd: targets for Prometheus's http_sd_configs. */
  serviceDiscovery?(): Promise<unknown>;
  /** GET /prometheus/config: a prometheus.yml for this control plane; throws on a bad interval. */
  prometheusConfig?(scrapeInterval: string | undefined): string;
}

/** A non-JSON answer (Prometheus text). */
class TextBody {
  constructor(
    readonly contentType: string,
    readonly text: string,
  ) {}
}

interface FileInput {
  name: string;
  text: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

const MAX_BODY = 16 * 1024 * 1024;

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, { error: 'request body too large' });
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new HttpError(400, { error: 'body is not JSON' });
  }
}

function parseFiles(body: Record<string, unknown>): {
  resources: ConfigResource[];
  problems: ConfigProblem[];
} {
  const files = body['files'];
  if (!Array.isArray(files))
    throw new HttpError(400, { error: 'expected {"files":[{"name","text"}]}' });
  const resources: ConfigResource[] = [];
  const problems: ConfigProblem[] = [];
  for (const f of files as FileInput[]) {
    if (typeof f?.name !== 'string' || typeof f.text !== 'string')
      throw new HttpError(400, { error: 'each file needs name and text' });
    const r = parseConfigText(f.text, f.name);
    resources.push(...r.resources);
    problems.push(...r.problems);
  }
  return { resources, problems };
}

function keyParts(key: string): { kind: string; namespace: string; name: string } {
  const [kind = '', namespace = '', name = ''] = key.split('/');
  return { kind, namespace, name };
}

export class ApiServer {
  private readonly server: http.Server;

  constructor(private readonly deps: ApiDeps) {
    this.server = http.createServer((req, res) => {
      this.route(req)
        .then((result) =>
          result instanceof TextBody ? sendText(res, result) : send(res, 200, result),
        )
        .catch((e: unknown) => {
          if (e instanceof HttpError) return send(res, e.status, e.body);
          deps.log(`api error: ${(e as Error).stack ?? String(e)}`);
          send(res, 500, { error: (e as Error).message });
        });
    });
  }

  private async route(req: http.IncomingMessage): Promise<unknown> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /ready':
        return { ready: true };
      case 'POST /api/v1/apply':
        return this.apply(await readJson(req));
      case 'POST /api/v1/delete':
        return this.delete(await readJson(req));
      case 'GET /api/v1/resources':
        return this.get(url.searchParams);
      case 'GET /debug/syncz':
        return this.deps.ads.status();
      case 'GET /debug/sync':
        // Whether every connected proxy has answered its last push (the launcher waits on it).
        return {
          instancesGeneration: this.deps.instancesGeneration?.() ?? 0,
          proxies: this.deps.ads.status().map((p) => ({ id: p.id, settled: settled(p) })),
        };
      case 'GET /debug/config_dump': {
        const dump = this.deps.configDump(url.searchParams.get('proxyID') ?? '');
        if (!dump) throw new HttpError(404, { error: 'no such proxy connected' });
        return dump;
      }
      case 'GET /debug/mesh':
        return this.deps.meshConfig?.() ?? {};
      case 'GET /debug/configz':
        return this.deps.store.all().map((s) => ({ ...s.resource, origin: s.origin }));
      case 'GET /debug/problems':
        return this.deps.store.problems().map(formatProblem);
      case 'GET /metrics': {
        const m = await this.deps.metrics?.();
        if (!m) break;
        return new TextBody(m.contentType, m.text);
      }
      case 'GET /prometheus/http_sd':
        if (!this.deps.serviceDiscovery) break;
        return this.deps.serviceDiscovery();
      case 'GET /prometheus/config': {
        if (!this.deps.prometheusConfig) break;
        const interval = url.searchParams.get('scrape_interval') ?? undefined;
        try {
          return new TextBody('text/yaml; charset=utf-8', this.deps.prometheusConfig(interval));
        } catch (e) {
          throw new HttpError(400, { error: (e as Error).message });
        }
      }
    }
    throw new HttpError(404, { error: `no route for ${req.method} ${url.pathname}` });
  }

  /** All or nothing: one invalid document refuses the whole apply, with validate's lines. */
  private async apply(body: Record<string, unknown>): Promise<unknown> {
    const { resources, problems } = parseFiles(body);
    const errors = problems.filter((p) => p.severity === 'error');
    if (errors.length) throw new HttpError(422, { problems: errors.map(formatProblem) });
    const results = await this.deps.store.apply(resources);
    // What Istio would ignore now, next to the config in force: reported when it involves these.
    const keys = new Set(resources.map(resourceKey));
    const findings = analyzeConfig(this.deps.store.resources()).filter((f) =>
      f.resources.some((k) => keys.has(k)),
    );
    return {
      applied: results.map(({ resource: r, action }) => ({
        kind: r.kind,
        namespace: r.metadata.namespace,
        name: r.metadata.name,
        action,
      })),
      warnings: [...problems, ...findings.map((f) => f.problem)].map(formatProblem),
    };
  }

  private async delete(body: Record<string, unknown>): Promise<unknown> {
    let keys: string[];
    if (Array.isArray(body['resources'])) {
      keys = (body['resources'] as { kind: string; namespace?: string; name: string }[]).map(
        (r) => {
          const kind = resolveKindName(String(r.kind));
          if (!kind)
            throw new HttpError(400, { problems: [`unknown kind ${JSON.stringify(r.kind)}`] });
          return `${kind}/${r.namespace ?? 'default'}/${r.name}`;
        },
      );
    } else {
      const { resources, problems } = parseFiles(body);
      const errors = problems.filter((p) => p.severity === 'error');
      if (errors.length) throw new HttpError(422, { problems: errors.map(formatProblem) });
      keys = resources.map(resourceKey);
    }
    const result = await this.deps.store.delete(keys);
    if (result.fromFile.length) {
      throw new HttpError(409, {
        problems: result.fromFile.map(
          (r) =>
            `${r.source.file}:${r.source.line}: ${r.kind} ${r.metadata.namespace}/${r.metadata.name}: is defined in this file; remove it there`,
        ),
        deleted: result.deleted.map(keyParts),
      });
    }
    return { deleted: result.deleted.map(keyParts), notFound: result.notFound.map(keyParts) };
  }

  private get(params: URLSearchParams): unknown {
    const kindParam = params.get('kind');
    const kind = kindParam ? resolveKindName(kindParam) : undefined;
    if (kindParam && !kind)
      throw new HttpError(400, { error: `unknown kind ${JSON.stringify(kindParam)}` });
    const namespace = params.get('namespace');
    const name = params.get('name');
    const resources = this.deps.store
      .all()
      .filter(
        ({ resource: r }) =>
          (!kind || r.kind === kind) &&
          (!namespace || r.metadata.namespace === namespace) &&
          (!name || r.metadata.name === name),
      )
      .map((s) => ({ ...s.resource, origin: s.origin }));
    return { resources };
  }

  listen(port: number, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address() as AddressInfo;
        resolve(`${a.address}:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 1);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendText(res: http.ServerResponse, body: TextBody): void {
  res.writeHead(200, {
    'content-type': body.contentType,
    'content-length': Buffer.byteLength(body.text),
  });
  res.end(body.text);
}
