// Watches the config paths and feeds each changed file to the store, debounced: an editor's
// save (write, rename, chmod) becomes one reload.
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { formatProblem } from '../../config/resource.js';
import { isConfigResult, listConfigFiles, parseConfigText } from '../../config/parse.js';
import type { ConfigStore } from './config-store.js';

export interface FileWatcherOptions {
  readonly paths: readonly string[];
  readonly store: ConfigStore;
  readonly debounceMs: number;
  readonly log: (line: string) => void;
}

export class FileWatcher {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private again = false;

  constructor(private readonly opts: FileWatcherOptions) {}

  /** Loads everything once, then watches. */
  async start(): Promise<void> {
    await this.scan();
    for (const p of this.opts.paths) {
      const isDir = (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
      try {
        const w = watch(p, { recursive: isDir }, () => this.schedule());
        w.on('error', (e) => this.opts.log(`watch ${p}: ${e.message}`));
        this.watchers.push(w);
      } catch (e) {
        this.opts.log(`cannot watch ${p}: ${(e as Error).message}`);
      }
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running
        .then(() => this.scan())
        .catch((e: Error) => this.opts.log(`reload failed: ${e.message}`));
    }, this.opts.debounceMs);
  }

  /** Rereads every config file; only files whose text changed are parsed again. */
  async scan(): Promise<void> {
    const { store, log } = this.opts;
    const { files, dirFiles } = await listConfigFiles(this.opts.paths);
    const seen = new Set(files);
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        continue; // removed between listing and reading; the next event handles it
      }
      if (store.fileText(file) === text) continue;
      const result = parseConfigText(text, file);
      if (dirFiles.has(file) && file.endsWith('.json') && !isConfigResult(result)) continue;
      const accepted = store.setFile(file, text, result.resources, result.problems);
      const errors = result.problems.filter((p) => p.severity === 'error');
      if (errors.length) {
        log(`${file}: refused, the previous version stays in force:`);
        for (const p of errors) log(`  ${formatProblem(p)}`);
      } else if (accepted) {
        log(`${file}: loaded ${result.resources.length} resource(s)`);
      }
    }
    for (const file of store.knownFiles()) if (!seen.has(file)) store.removeFile(file);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
  }
}
