// Route configurations received over RDS, by name; connection managers look theirs up per request
// so an RDS update takes effect for the next request without touching listeners.
import type { RouteTable } from './route-table.js';

export class RouteStore {
  private tables = new Map<string, RouteTable>();

  get(name: string): RouteTable | undefined {
    return this.tables.get(name);
  }

  /** RDS in state of the world: names not in the update stay (xDS: RDS absence is not removal). */
  apply(tables: ReadonlyMap<string, RouteTable>): void {
    const next = new Map(this.tables);
    for (const [name, t] of tables) next.set(name, t);
    this.tables = next;
  }

  /** Drops tables no listener names any more. */
  retain(names: ReadonlySet<string>): void {
    for (const name of [...this.tables.keys()]) if (!names.has(name)) this.tables.delete(name);
  }

  has(name: string): boolean {
    return this.tables.has(name);
  }
}
