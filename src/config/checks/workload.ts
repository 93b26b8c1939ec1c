// skiff's own `skiff.dev/v1alpha1 Workload` (a local process the launcher runs with a sidecar):
// its schema, checks and defaults.
import type { WorkloadSpec } from '../kinds.js';
import { S } from '../shape.js';
import type { Shape } from '../shape.js';
import { checkPort, isObject } from './common.js';
import type { CheckContext } from './common.js';
import { isDnsLabel, nameProblem } from './names.js';

export const WORKLOAD_SPEC: Shape = S.object(
  {
    serviceAccount: S.string,
    command: S.array(S.string),
    env: S.map(S.string),
    replicas: S.integer,
    ports: S.array(S.object({ name: S.string, containerPort: S.integer }, ['containerPort'])),
  },
  ['command'],
);

// Kubernetes' rule for environment variable names (C identifiers, plus '-' and '.').
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

interface RawWorkload {
  serviceAccount?: string;
  command?: string[];
  env?: Record<string, string>;
  replicas?: number;
  ports?: { name?: string; containerPort: number }[];
}

export function checkWorkload(raw: unknown, ctx: CheckContext): void {
  const { report } = ctx;
  const spec = (isObject(raw) ? raw : {}) as RawWorkload;
  const command = spec.command ?? [];
  if (command.length === 0)
    report.error(['spec', 'command'], 'command must not be empty (e.g. [node, app.js])', 'key');
  else if (command[0] === '')
    report.error(
      ['spec', 'command', 0],
      'the program (first element of command) must not be empty',
    );
  if (spec.serviceAccount !== undefined) {
    const problem = nameProblem(spec.serviceAccount, 'subdomain');
    if (problem) report.error(['spec', 'serviceAccount'], `invalid serviceAccount: ${problem}`);
  }
  if (spec.replicas !== undefined && spec.replicas < 0) {
    report.error(['spec', 'replicas'], `replicas must not be negative (got ${spec.replicas})`);
  }
  for (const name of Object.keys(spec.env ?? {})) {
    if (!ENV_NAME.test(name))
      report.error(['spec', 'env', name], `invalid environment variable name "${name}"`, 'key');
  }
  const names = new Set<string>();
  const numbers = new Set<number>();
  (spec.ports ?? []).forEach((p, i) => {
    const at = ['spec', 'ports', i];
    checkPort(report, [...at, 'containerPort'], p.containerPort);
    if (numbers.has(p.containerPort))
      report.error([...at, 'containerPort'], `duplicate containerPort ${p.containerPort}`);
    numbers.add(p.containerPort);
    if (p.name !== undefined) {
      if (!isDnsLabel(p.name))
        report.error(
          [...at, 'name'],
          `invalid port name "${p.name}": use at most 63 lower-case letters, digits and '-'`,
        );
      else if (names.has(p.name)) report.error([...at, 'name'], `duplicate port name "${p.name}"`);
      names.add(p.name);
    }
  });
}

export function normalizeWorkload(raw: unknown): WorkloadSpec {
  const spec = (isObject(raw) ? raw : {}) as RawWorkload;
  return {
    serviceAccount: spec.serviceAccount ?? 'default',
    command: spec.command ?? [],
    env: spec.env ?? {},
    replicas: spec.replicas ?? 1,
    ports: (spec.ports ?? []).map((p) =>
      p.name !== undefined
        ? { name: p.name, containerPort: p.containerPort }
        : { containerPort: p.containerPort },
    ),
  };
}
