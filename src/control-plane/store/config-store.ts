// The config store: resources from watched files (each file keeps its last valid version) and
// from `apply` (persisted in the state directory), merged into one list. Applied resources win
// over file ones with the same kind/namespace/name, as a later `kubectl apply` would.
import { EventEmitter } from 'node:events';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ConfigProblem, ConfigResource } from '../../config/resource.js';
import { resourceKey } from '../../config/resource.js';

export type Origin = 'file' | 'applied';

/** Where applied resources persist in the state directory (they outlive a control plane restart). */
export const APPLIED_FILE = 'applied.json';

export interface StoredResource {
  readonly resource: ConfigResource;
  readonly origin: Origin;
}

interface FileEntry {
  /** Text of the version in force (the last valid one). */
  readonly text: string;
  readonly resources: readonly ConfigResource[];
  /** Problems of the newest version when it was refused (the previous one stays in force). */
  readonly problems: readonly ConfigProblem[];
}

export class ConfigStore extends EventEmitter {
  private readonly files = new Map<string, FileEntry>();
  private applied = new Map<string, ConfigResource>();
  private readonly appliedFile: string;

  constructor(stateDir: string) {
    super();
    this.appliedFile = path.join(stateDir, APPLIED_FILE);
  }

  async loadApplied(): Promise<void> {
    try {
      const list = JSON.parse(await readFile(this.appliedFile, 'utf8')) as ConfigResource[];
      this.applied = new Map(list.map((r) => [resourceKey(r), r]));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  private async saveApplied(): Promise<void> {
    await mkdir(path.dirname(this.appliedFile), { recursive: true });
    const tmp = `${this.appliedFile}.tmp`;
    await writeFile(tmp, JSON.stringify([...this.applied.values()], null, 1));
    await rename(tmp, this.appliedFile);
  }

  fileText(file: string): string | undefined {
    return this.files.get(file)?.text;
  }

  /**
   * Records a file's newest parse. With errors, the file's previous valid version stays in
   * force and the problems are kept for /debug/problems. Returns whether resources changed.
   */
  setFile(
    file: string,
    text: string,
    resources: readonly ConfigResource[],
    problems: readonly ConfigProblem[],
  ): boolean {
    const prev = this.files.get(file);
    const errors = problems.filter((p) => p.severity === 'error');
    if (errors.length) {
      this.files.set(file, { text: prev?.text ?? '', resources: prev?.resources ?? [], problems });
      return false;
    }
    this.files.set(file, { text, resources, problems });
    const changed = prev?.text !== text;
    if (changed) this.emit('change', `file ${file}`);
    return changed;
  }

  removeFile(file: string): void {
    if (this.files.delete(file)) this.emit('change', `file ${file} removed`);
  }

  knownFiles(): string[] {
    return [...this.files.keys()];
  }

  async apply(
    resources: readonly ConfigResource[],
  ): Promise<{ resource: ConfigResource; action: 'created' | 'configured' | 'unchanged' }[]> {
    const results = resources.map((r) => {
      const key = resourceKey(r);
      const prev = this.applied.get(key) ?? this.fileResource(key);
      const action = !prev
        ? 'created'
        : JSON.stringify(prev.spec) === JSON.stringify(r.spec) &&
            JSON.stringify(prev.metadata) === JSON.stringify(r.metadata)
          ? 'unchanged'
          : 'configured';
      this.applied.set(key, r);
      return { resource: r, action } as const;
    });
    await this.saveApplied();
    if (results.some((r) => r.action !== 'unchanged')) this.emit('change', 'apply');
    return results;
  }

  /** Deletes applied resources; file-defined ones are refused (edit the file instead). */
  async delete(
    keys: readonly string[],
  ): Promise<{ deleted: string[]; notFound: string[]; fromFile: ConfigResource[] }> {
    const deleted: string[] = [];
    const notFound: string[] = [];
    const fromFile: ConfigResource[] = [];
    for (const key of keys) {
      if (this.applied.delete(key)) deleted.push(key);
      else {
        const f = this.fileResource(key);
        if (f) fromFile.push(f);
        else notFound.push(key);
      }
    }
    if (deleted.length) {
      await this.saveApplied();
      this.emit('change', 'delete');
    }
    return { deleted, notFound, fromFile };
  }

  private fileResource(key: string): ConfigResource | undefined {
    for (const f of this.files.values()) {
      const r = f.resources.find((x) => resourceKey(x) === key);
      if (r) return r;
    }
    return undefined;
  }

  /** Every resource in force: files in path order (first definition wins), applied over them. */
  all(): StoredResource[] {
    const byKey = new Map<string, StoredResource>();
    for (const file of [...this.files.keys()].sort()) {
      for (const r of this.files.get(file)?.resources ?? []) {
        const key = resourceKey(r);
        if (!byKey.has(key)) byKey.set(key, { resource: r, origin: 'file' });
      }
    }
    for (const [key, r] of this.applied) byKey.set(key, { resource: r, origin: 'applied' });
    return [...byKey.values()];
  }

  resources(): ConfigResource[] {
    return this.all().map((s) => s.resource);
  }

  /** Problems of files whose newest version was refused, and warnings of those in force. */
  problems(): ConfigProblem[] {
    return [...this.files.values()].flatMap((f) => f.problems);
  }
}
