// Reads the launcher's instances file and follows it: the file is replaced atomically
// (write + rename), so the directory is watched for the file's name.
import { EventEmitter } from 'node:events';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { InstancesFile, WorkloadInstance } from './instances.js';

export class InstancesSource extends EventEmitter {
  private list: readonly WorkloadInstance[] = [];
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private text = '';
  private gen = 0;

  constructor(
    private readonly file: string | undefined,
    private readonly log: (line: string) => void,
  ) {
    super();
  }

  get instances(): readonly WorkloadInstance[] {
    return this.list;
  }

  /** The generation of the file last read (0 when the file has none). */
  get generation(): number {
    return this.gen;
  }

  async start(): Promise<void> {
    if (!this.file) return;
    await this.reload();
    const base = path.basename(this.file);
    this.watcher = watch(path.dirname(this.file), (_event, name) => {
      if (name !== base) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), 20);
    });
    this.watcher.on('error', (e) => this.log(`watch ${this.file}: ${e.message}`));
  }

  private async reload(): Promise<void> {
    if (!this.file) return;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log(`${this.file}: ${(e as Error).message}`);
      return;
    }
    if (text === this.text) return;
    try {
      const parsed = JSON.parse(text) as InstancesFile;
      this.list = parsed.instances ?? [];
      this.gen = typeof parsed.generation === 'number' ? parsed.generation : 0;
      this.text = text;
      this.emit('change');
    } catch (e) {
      // A half-written file from a writer that does not rename: wait for the next event.
      this.log(`${this.file}: not valid JSON yet (${(e as Error).message})`);
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
  }
}
