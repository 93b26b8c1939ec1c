// Proto3 JSON durations ("1.5s") in milliseconds, for cluster settings; errors name the field.
import { parseProtoDuration } from '../../xds/duration.js';
import { ConfigError } from '../config-error.js';

/** Milliseconds of a duration field; `fallback` when the field is absent. */
export function durationMs(value: unknown, field: string, fallback = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new ConfigError(field, 'expected a duration');
  try {
    const { seconds, nanos } = parseProtoDuration(value);
    const ms = seconds * 1000 + nanos / 1e6;
    if (ms < 0) throw new ConfigError(field, 'must not be negative');
    return ms;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(field, (e as Error).message);
  }
}
