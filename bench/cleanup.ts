// Everything the benchmark starts registers its undo here; the undos run last-in first-out when
// the run ends, fails, or is interrupted (Ctrl-C, SIGTERM), so that no process outlives a run.
export type Undo = () => void | Promise<void>;

export interface UndoHandle {
  /** Runs the undo now, unless it already ran; it will not run again. */
  now(): Promise<void>;
  /** Forgets the undo without running it. */
  drop(): void;
}

export class Cleanup {
  private readonly undos: { what: string; undo: Undo }[] = [];
  private running: Promise<void> | undefined;
  private readonly interruption = new AbortController();

  /** Aborted on SIGINT/SIGTERM: the run should start nothing more. */
  get interrupted(): AbortSignal {
    return this.interruption.signal;
  }

  /** Registers `undo`; the handle runs it early (once), or drops it when it is no longer needed. */
  add(what: string, undo: Undo): UndoHandle {
    const entry = { what, undo };
    this.undos.push(entry);
    const drop = (): boolean => {
      const i = this.undos.indexOf(entry);
      if (i >= 0) this.undos.splice(i, 1);
      return i >= 0;
    };
    return {
      now: async () => {
        if (drop()) await entry.undo();
      },
      drop: () => void drop(),
    };
  }

  /** Runs every registered undo, newest first; one that fails does not stop the others. */
  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.undos.length) {
        const { what, undo } = this.undos.pop()!;
        try {
          await undo();
        } catch (err) {
          process.stderr.write(`bench: cleaning up ${what} failed: ${(err as Error).message}\n`);
        }
      }
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** On SIGINT/SIGTERM: clean up, then exit with 128 + the signal's number. */
  exitOnSignals(): void {
    const onSignal = (signal: NodeJS.Signals, code: number): void => {
      process.stderr.write(`\nbench: ${signal}, stopping everything it started\n`);
      this.interruption.abort();
      // A second Ctrl-C while cleaning up should not kill us half way: ignore it.
      process.on(signal, () => {});
      void this.run().finally(() => process.exit(code));
    };
    process.once('SIGINT', () => onSignal('SIGINT', 130));
    process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  }
}
