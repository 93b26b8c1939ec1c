// The one error a proxy raises for a resource it cannot use: the xDS client NACKs with its
// message, which names the resource and the field.

export class ConfigError extends Error {
  readonly code = 'ERR_XDS_RESOURCE';
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(field ? `${field}: ${detail}` : detail);
  }

  /** Prefixes the field path with the enclosing resource or field. */
  within(prefix: string): ConfigError {
    return new ConfigError(this.field ? `${prefix}.${this.field}` : prefix, this.detail);
  }
}

/** Runs `fn`, re-raising a ConfigError with `prefix` added to its field path. */
export function inField<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError) throw e.within(prefix);
    throw e;
  }
}
