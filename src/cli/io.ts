// What every command shares: where its output goes, the error it throws for a one-line failure,
// and the error that carries several lines (config problems) to print as they are.

/** Output of a command: `log` to stdout, `error` to stderr, one line (or block) per call. */
export interface CliIO {
  log(line: string): void;
  error(line: string): void;
}

export const consoleIO: CliIO = {
  log: (line) => process.stdout.write(line + '\n'),
  error: (line) => process.stderr.write(line + '\n'),
};

/** A failure the CLI prints as `skiff: <message>` and exits 1 on. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A refusal that comes with problem lines (`file:line: Kind ns/name: field: message`). */
export class ProblemsError extends Error {
  readonly code = 'ERR_PROBLEMS';
  constructor(readonly lines: readonly string[]) {
    super(lines.join('\n'));
    this.name = 'ProblemsError';
  }
}

/** Lines of an error as the CLI prints them: problem lines as they are, else `skiff: message`. */
export function errorLines(err: unknown): string[] {
  const lines = (err as { lines?: unknown }).lines;
  if (Array.isArray(lines) && lines.every((l) => typeof l === 'string')) return lines as string[];
  const message = err instanceof Error ? err.message : String(err);
  return [`skiff: ${message}`];
}

/** A flag or argument the command cannot use: printed like a CliError, exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super('ERR_USAGE', message);
    this.name = 'UsageError';
  }
}

/** 2 for usage errors, 1 for every other failure. */
export function exitCodeOf(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}
