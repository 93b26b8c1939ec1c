// The proxy's clusters by name: applies CDS (keeping unchanged clusters, carrying pools over to
// changed ones) and EDS (swapping host sets), and tells which assignments to subscribe to.
import { isDeepStrictEqual } from 'node:util';
import type { Assignment } from './assignment.js';
import { Cluster } from './cluster.js';
import type { ClusterConfig } from './cluster-config.js';
import { ClusterStats } from './stats.js';

export class ClusterManager {
  private clusters = new Map<string, Cluster>();
  private readonly stats = new Map<string, ClusterStats>();
  /** Assignments that arrived, by EDS service name (an update may precede its cluster). */
  private readonly assignments = new Map<string, Assignment>();

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  all(): Cluster[] {
    return [...this.clusters.values()];
  }

  /** Applies a full CDS state of the world. */
  applyClusters(configs: readonly ClusterConfig[]): void {
    const next = new Map<string, Cluster>();
    for (const config of configs) {
      const old = this.clusters.get(config.name);
      if (old && isDeepStrictEqual(old.config.source, config.source)) {
        next.set(config.name, old);
        continue;
      }
      let stats = this.stats.get(config.name);
      if (!stats) {
        stats = new ClusterStats();
        this.stats.set(config.name, stats);
      }
      const cluster = new Cluster(config, stats);
      if (old) cluster.inherit(old);
      const known = this.assignments.get(config.edsServiceName);
      if (config.type === 'EDS' && known) cluster.setAssignment(known);
      next.set(config.name, cluster);
    }
    for (const [name, old] of this.clusters) {
      if (next.get(name) !== old) void old.close();
      if (!next.has(name)) this.stats.delete(name);
    }
    this.clusters = next;
  }

  /** Applies EDS assignments (state of the world for the names subscribed). */
  applyAssignments(assignments: ReadonlyMap<string, Assignment>): void {
    for (const [name, a] of assignments) this.assignments.set(name, a);
    const wanted = new Set(this.edsServiceNames());
    for (const name of this.assignments.keys())
      if (!wanted.has(name)) this.assignments.delete(name);
    for (const cluster of this.clusters.values()) {
      if (cluster.config.type !== 'EDS') continue;
      const a = assignments.get(cluster.config.edsServiceName);
      if (a) cluster.setAssignment(a);
    }
  }

  /** ClusterLoadAssignment names the EDS clusters need. */
  edsServiceNames(): string[] {
    return this.all()
      .filter((c) => c.config.type === 'EDS')
      .map((c) => c.config.edsServiceName)
      .sort();
  }

  /** True when every EDS cluster has received its assignment at least once (warm). */
  warm(): boolean {
    return this.all().every((c) => c.config.type !== 'EDS' || c.assignment !== undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((c) => c.close()));
    this.clusters.clear();
  }
}
