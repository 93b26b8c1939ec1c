// Errors the launcher throws, each with a stable code (the CLI prints the message as one line).

export type LauncherErrorCode =
  | 'ERR_CONFIG'
  | 'ERR_MESH_RUNNING'
  | 'ERR_NO_MESH'
  | 'ERR_STALE_MESH'
  | 'ERR_PORT_IN_USE'
  | 'ERR_NO_FREE_PORT'
  | 'ERR_START_TIMEOUT'
  | 'ERR_BAD_RECORD'
  | 'ERR_BAD_ANNOTATION';

export class LauncherError extends Error {
  constructor(
    readonly code: LauncherErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LauncherError';
  }
}

/** The mesh's config has errors: `lines` are the formatted problems, one per line. */
export class ConfigRefusedError extends LauncherError {
  constructor(readonly lines: readonly string[]) {
    super('ERR_CONFIG', `the configuration has ${lines.length} problem(s)`);
    this.name = 'ConfigRefusedError';
  }
}
