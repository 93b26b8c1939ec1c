// Durations in proto3 JSON form ("1.5s", as decoded resources carry them) to milliseconds.
import { parseProtoDuration } from '../../xds/duration.js';
import { ConfigError } from '../config-error.js';

/** 0 for an absent duration; a ConfigError naming `field` for a malformed one. */
export function durationMs(value: unknown, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'string') throw new ConfigError(field, 'expected a duration');
  try {
    const { seconds, nanos } = parseProtoDuration(value);
    return seconds * 1000 + nanos / 1e6;
  } catch (e) {
    throw new ConfigError(field, (e as Error).message);
  }
}
