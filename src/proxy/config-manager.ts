// Takes each xDS update, compiles it into runtime objects, and swaps them in; a resource that
// does not compile rejects the whole update (the xDS client NACKs with the message and the
// proxy keeps serving what it had).
import { TypeUrl } from '../xds/types.js';
import { ConfigError } from './config-error.js';
import type { ListenerManager } from './listeners/listener-manager.js';
import { compileListener } from './listeners/listener-config.js';
import type { RouteStore } from './routes/route-store.js';
import { RouteTable } from './routes/route-table.js';
import type { ClusterManager } from './upstream/cluster-manager.js';
import { compileCluster } from './upstream/cluster-config.js';
import type { Assignment } from './upstream/assignment.js';
import { compileAssignment } from './upstream/assignment.js';
import { compileSecret } from './tls/secret.js';
import type { SecretStore } from './tls/secret-store.js';
import { proxySecrets } from './tls/secret-store.js';

type Obj = Record<string, unknown>;

export interface AcceptedResources {
  readonly version: string;
  readonly lastUpdated: string;
  readonly resources: ReadonlyMap<string, Obj>;
}

export interface ConfigManagerDeps {
  readonly clusters: ClusterManager;
  readonly listeners: ListenerManager;
  readonly routes: RouteStore;
  /** Changes the names the xDS client asks for (EDS after CDS, RDS after LDS, SDS after both). */
  subscribe(typeUrl: string, names: readonly string[]): void;
  /** Where SDS secrets go (the proxy's store by default). */
  readonly secrets?: SecretStore;
}

/** Compiles every resource; collects every error so a NACK names them all. */
function compileAll<T>(
  resources: ReadonlyMap<string, Obj>,
  compile: (r: Obj) => T,
  label: string,
): Map<string, T> {
  const out = new Map<string, T>();
  const errors: string[] = [];
  for (const [name, r] of resources) {
    try {
      out.set(name, compile(r));
    } catch (e) {
      const where =
        e instanceof ConfigError && e.field.startsWith(label) ? '' : `${label} ${name}: `;
      errors.push(where + (e as Error).message);
    }
  }
  if (errors.length) throw new ConfigError('', errors.join('; '));
  return out;
}

export class ConfigManager {
  private readonly accepted = new Map<string, AcceptedResources>();
  /** SDS names the clusters' UpstreamTlsContexts take. */
  private clusterSdsNames: readonly string[] = [];

  constructor(private readonly deps: ConfigManagerDeps) {}

  async onResources(
    typeUrl: string,
    resources: ReadonlyMap<string, Obj>,
    version: string,
  ): Promise<void> {
    switch (typeUrl) {
      case TypeUrl.Cluster: {
        const configs = compileAll(resources, compileCluster, 'Cluster');
        this.deps.clusters.applyClusters([...configs.values()]);
        this.deps.subscribe(TypeUrl.ClusterLoadAssignment, this.deps.clusters.edsServiceNames());
        this.clusterSdsNames = [...configs.values()].flatMap((c) => c.tls?.common.sdsNames ?? []);
        this.subscribeSecrets();
        break;
      }
      case TypeUrl.ClusterLoadAssignment: {
        const assignments = compileAll<Assignment>(
          resources,
          compileAssignment,
          'ClusterLoadAssignment',
        );
        this.deps.clusters.applyAssignments(assignments);
        break;
      }
      case TypeUrl.Listener: {
        const configs = compileAll(resources, compileListener, 'Listener');
        const bindErrors = await this.deps.listeners.apply([...configs.values()]);
        const rds = this.deps.listeners.rdsNames();
        this.deps.routes.retain(new Set(rds));
        this.deps.subscribe(TypeUrl.RouteConfiguration, rds);
        this.subscribeSecrets();
        if (bindErrors.length) {
          this.record(typeUrl, resources, version);
          throw new ConfigError('', bindErrors.join('; '));
        }
        break;
      }
      case TypeUrl.RouteConfiguration: {
        const tables = compileAll(resources, (r) => RouteTable.compile(r), 'RouteConfiguration');
        this.deps.routes.apply(tables);
        break;
      }
      case TypeUrl.Secret: {
        const secrets = compileAll(resources, compileSecret, 'Secret');
        this.secrets.apply(secrets);
        break;
      }
      default:
        throw new ConfigError('', `resource type ${typeUrl} is not supported`);
    }
    this.record(typeUrl, resources, version);
  }

  private get secrets(): SecretStore {
    return this.deps.secrets ?? proxySecrets;
  }

  /** Secret names in use by listeners and clusters; others are dropped. */
  private sdsNames(): string[] {
    return [...new Set([...this.deps.listeners.sdsNames(), ...this.clusterSdsNames])].sort();
  }

  private subscribeSecrets(): void {
    const names = this.sdsNames();
    this.secrets.retain(new Set(names));
    this.deps.subscribe(TypeUrl.Secret, names);
  }

  private record(typeUrl: string, resources: ReadonlyMap<string, Obj>, version: string): void {
    const previous = this.accepted.get(typeUrl);
    // Named types (EDS, RDS) accumulate: an update carries only the names asked for.
    const merged =
      typeUrl === TypeUrl.ClusterLoadAssignment ||
      typeUrl === TypeUrl.RouteConfiguration ||
      typeUrl === TypeUrl.Secret
        ? new Map([...(previous?.resources ?? []), ...resources])
        : new Map(resources);
    this.accepted.set(typeUrl, {
      version,
      lastUpdated: new Date().toISOString(),
      resources: merged,
    });
  }

  /** Ready once listeners and clusters arrived and everything they name is here (warm). */
  ready(): boolean {
    if (!this.accepted.has(TypeUrl.Listener) || !this.accepted.has(TypeUrl.Cluster)) return false;
    if (!this.deps.clusters.warm()) return false;
    if (!this.deps.listeners.tlsReady()) return false;
    return this.deps.listeners.rdsNames().every((n) => this.deps.routes.has(n));
  }

  acceptedResources(typeUrl: string): AcceptedResources | undefined {
    const a = this.accepted.get(typeUrl);
    if (!a) return undefined;
    // Report only what is still in force (EDS/RDS names no longer subscribed are gone).
    const live =
      typeUrl === TypeUrl.ClusterLoadAssignment
        ? new Set(this.deps.clusters.edsServiceNames())
        : typeUrl === TypeUrl.RouteConfiguration
          ? new Set(this.deps.listeners.rdsNames())
          : undefined;
    if (!live) return a;
    return { ...a, resources: new Map([...a.resources].filter(([n]) => live.has(n))) };
  }
}
