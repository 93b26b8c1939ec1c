// One launcher per state dir: `<stateDir>/launcher.lock` holds the pid of the launcher using it.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { LauncherError } from './errors.js';
import { pidAlive } from './pids.js';

export class StateLock {
  private constructor(readonly file: string) {}

  /** Takes the lock, or throws ERR_MESH_RUNNING when a live launcher holds it. */
  static acquire(stateDir: string): StateLock {
    const file = path.join(stateDir, 'launcher.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new StateLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(readFileSync(file, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
          throw new LauncherError(
            'ERR_MESH_RUNNING',
            `a mesh is already running with state dir ${stateDir} (launcher pid ${pid})`,
          );
        }
        rmSync(file, { force: true }); // left by a launcher that died
      }
    }
    throw new LauncherError('ERR_MESH_RUNNING', `cannot lock ${file}`);
  }

  release(): void {
    rmSync(this.file, { force: true });
  }
}
