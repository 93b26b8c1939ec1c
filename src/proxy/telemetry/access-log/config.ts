// envoy.config.accesslog.v3.AccessLog (the `access_log` lists of the HTTP connection manager and
// tcp_proxy) → compiled loggers: a filter and a line formatter per log, writing to a shared
// buffered writer. Loggers: envoy.access_loggers.file (FileAccessLog: path, log_format, or the
// deprecated format / json_format) and envoy.access_loggers.stdout / stderr (StdoutAccessLog,
// StderrAccessLog). Filters: status_code_filter, duration_filter, response_flag_filter,
// and_filter, or_filter, and extension_filter envoy.access_loggers.extension_filters.cel
// (ExpressionFilter), which skiff evaluates with its CEL subset (cel.ts).
import { ConfigError, inField } from '../../config-error.js';
import { messageNameOf } from '../../../xds/types.js';
import { CelError, compileCel } from './cel.js';
import type { LogEntry } from './entry.js';
import type { LineFormatter } from './format.js';
import { ENVOY_DEFAULT_FORMAT, compileJsonFormat, compileTextFormat } from './format.js';
import { accessLogWriter } from './writer.js';

type Obj = Record<string, unknown>;

export const FILE_ACCESS_LOG = 'envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT_ACCESS_LOG = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const STDERR_ACCESS_LOG = 'envoy.extensions.access_loggers.stream.v3.StderrAccessLog';
export const CEL_FILTER = 'envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter';

export type EntryFilter = (e: LogEntry) => boolean;

/** One compiled access log: whether an entry is logged, and its line. */
export interface CompiledAccessLog {
  readonly name: string;
  readonly filter: EntryFilter | undefined;
  readonly format: LineFormatter;
  readonly write: (line: string) => void;
}

/** SubstitutionFormatString → a formatter. */
function compileLogFormat(f: Obj): LineFormatter {
  const omit = f['omit_empty_values'] === true;
  if (f['json_format'] !== undefined)
    return inField('json_format', () => compileJsonFormat(f['json_format'] as Obj, omit));
  if (f['text_format'] !== undefined)
    return inField('text_format', () => compileTextFormat(String(f['text_format']), omit));
  const source = f['text_format_source'] as Obj | undefined;
  if (source) {
    const inline = source['inline_string'];
    if (typeof inline !== 'string')
      throw new ConfigError('text_format_source', 'only inline_string is supported');
    return inField('text_format_source.inline_string', () => compileTextFormat(inline, omit));
  }
  throw new ConfigError('', 'needs text_format_source, text_format or json_format');
}

function stringOf(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new ConfigError(field, 'must be a string');
  return v;
}

function compileComparison(f: Obj): (v: number) => boolean {
  const cmp = (f['comparison'] as Obj | undefined) ?? {};
  const op = String(cmp['op'] ?? 'EQ');
  const value = Number((cmp['value'] as Obj | undefined)?.['default_value'] ?? 0);
  const test = (v: number): boolean =>
    op === 'GE' ? v >= value : op === 'LE' ? v <= value : v === value;
  if (!['EQ', 'GE', 'LE'].includes(op)) throw new ConfigError('comparison.op', `unknown op ${op}`);
  return test;
}

/** AccessLogFilter → a predicate; unsupported kinds fail the config, as Envoy would not load them. */
export function compileFilter(f: Obj): EntryFilter {
  if (f['status_code_filter']) {
    const test = inField('status_code_filter', () =>
      compileComparison(f['status_code_filter'] as Obj),
    );
    return (e) => test(e.responseCode);
  }
  if (f['duration_filter']) {
    const test = inField('duration_filter', () => compileComparison(f['duration_filter'] as Obj));
    return (e) => test(Math.floor(e.durationMs));
  }
  if (f['response_flag_filter']) {
    const flags = ((f['response_flag_filter'] as Obj)['flags'] as string[] | undefined) ?? [];
    // No flags listed: any flag at all.
    return (e) =>
      flags.length ? e.responseFlags.some((x) => flags.includes(x)) : e.responseFlags.length > 0;
  }
  for (const kind of ['and_filter', 'or_filter'] as const) {
    if (!f[kind]) continue;
    const list = ((f[kind] as Obj)['filters'] as Obj[] | undefined) ?? [];
    if (list.length < 2) throw new ConfigError(`${kind}.filters`, 'needs at least two filters');
    const parts = list.map((x, i) => inField(`${kind}.filters[${i}]`, () => compileFilter(x)));
    return kind === 'and_filter' ? (e) => parts.every((p) => p(e)) : (e) => parts.some((p) => p(e));
  }
  if (f['extension_filter']) {
    return inField('extension_filter', () => {
      const ext = f['extension_filter'] as Obj;
      const typed = (ext['typed_config'] as Obj | undefined) ?? {};
      const type = messageNameOf(String(typed['@type'] ?? ''));
      if (type !== CEL_FILTER)
        throw new ConfigError(
          'typed_config',
          `access log filter ${type || '(none)'} is not supported`,
        );
      const expression = stringOf(typed['expression'] ?? '', 'typed_config.expression');
      try {
        return compileCel(expression);
      } catch (e) {
        if (e instanceof CelError)
          throw new ConfigError(
            'typed_config.expression',
            `${e.message} in ${JSON.stringify(expression)}`,
          );
        throw e;
      }
    });
  }
  throw new ConfigError(
    '',
    `access log filter ${Object.keys(f).join(', ') || '(empty)'} is not supported`,
  );
}

function compileOne(log: Obj): CompiledAccessLog {
  const name = String(log['name'] ?? '');
  const typed = (log['typed_config'] as Obj | undefined) ?? {};
  const type = messageNameOf(String(typed['@type'] ?? ''));
  const filter = log['filter']
    ? inField('filter', () => compileFilter(log['filter'] as Obj))
    : undefined;
  let path: string;
  let format: LineFormatter;
  if (type === FILE_ACCESS_LOG) {
    path = inField('typed_config', () => stringOf(typed['path'], 'path'));
    if (!path) throw new ConfigError('typed_config.path', 'required');
    format = inField('typed_config', () => {
      if (typed['log_format'])
        return inField('log_format', () => compileLogFormat(typed['log_format'] as Obj));
      if (typed['json_format'])
        return inField('json_format', () => compileJsonFormat(typed['json_format'] as Obj));
      if (typeof typed['format'] === 'string' && typed['format'])
        return inField('format', () => compileTextFormat(typed['format'] as string));
      return compileTextFormat(ENVOY_DEFAULT_FORMAT);
    });
  } else if (type === STDOUT_ACCESS_LOG || type === STDERR_ACCESS_LOG) {
    path = type === STDOUT_ACCESS_LOG ? '/dev/stdout' : '/dev/stderr';
    format = inField('typed_config', () =>
      typed['log_format']
        ? inField('log_format', () => compileLogFormat(typed['log_format'] as Obj))
        : compileTextFormat(ENVOY_DEFAULT_FORMAT),
    );
  } else {
    throw new ConfigError(
      'typed_config',
      `access logger ${type || name || '(none)'} is not supported`,
    );
  }
  // Opened when first written: a config that is rejected later opens nothing.
  const file = path;
  return { name, filter, format, write: (line) => accessLogWriter(file).write(line) };
}

/** The `access_log` list of a filter; undefined when there is none (nothing to do per request). */
export function compileAccessLogs(list: unknown): AccessLogs | undefined {
  if (list === undefined || (Array.isArray(list) && list.length === 0)) return undefined;
  if (!Array.isArray(list)) throw new ConfigError('access_log', 'must be a list');
  const logs = list.map((l, i) => inField(`access_log[${i}]`, () => compileOne(l as Obj)));
  return new AccessLogs(logs);
}

/** A filter's access logs: every one that passes its filter writes its line. */
export class AccessLogs {
  constructor(readonly logs: readonly CompiledAccessLog[]) {}

  emit(entry: LogEntry): void {
    for (const l of this.logs) {
      if (l.filter && !l.filter(entry)) continue;
      l.write(l.format(entry));
    }
  }
}
