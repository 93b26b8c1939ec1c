// `skiff validate PATH...`: checks Istio/Kubernetes/skiff YAML files and directories and prints
// one `file:line: Kind ns/name: field: message` line per problem; exit 1 when any is an error.
import { FieldTableMissingError } from '../config/fields.js';
import { loadConfigPaths } from '../config/parse.js';
import { formatProblem } from '../config/resource.js';
import { analyzeConfig } from '../control-plane/model/analysis.js';

export interface ValidateOutput {
  log(line: string): void;
  error(line: string): void;
}

/** Prints every problem (errors and warnings, by file then line) on `out.error`; returns the exit code. */
export async function runValidate(paths: string[], out: ValidateOutput): Promise<number> {
  let problems;
  try {
    const loaded = await loadConfigPaths(paths);
    // Then what Istio would ignore next to the rest (istioctl analyze's cross-resource checks).
    problems = [...loaded.problems, ...analyzeConfig(loaded.resources).map((f) => f.problem)];
  } catch (err) {
    if (err instanceof FieldTableMissingError) {
      out.error(err.message);
      return 1;
    }
    throw err;
  }
  const sorted = problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) =>
      a.p.file < b.p.file ? -1 : a.p.file > b.p.file ? 1 : a.p.line - b.p.line || a.i - b.i,
    )
    .map(({ p }) => p);
  for (const p of sorted) out.error(formatProblem(p));
  return sorted.some((p) => p.severity === 'error') ? 1 : 0;
}
