// metadata: the ObjectMeta fields, a required and well-formed name, namespace, labels, annotations.
import type { Reporter } from '../report.js';
import { checkShape, S } from '../shape.js';
import { checkLabels, isObject } from './common.js';
import { isDnsLabel, labelKeyProblem, nameProblem } from './names.js';

/** Kubernetes' ObjectMeta fields (what `kubectl get -o yaml` prints is accepted). */
const METADATA = S.object({
  name: S.string,
  generateName: S.string,
  namespace: S.string,
  labels: S.map(S.string),
  annotations: S.map(S.string),
  uid: S.string,
  resourceVersion: S.string,
  generation: S.integer,
  creationTimestamp: S.any,
  deletionTimestamp: S.any,
  deletionGracePeriodSeconds: S.integer,
  ownerReferences: S.array(S.any),
  finalizers: S.array(S.string),
  managedFields: S.array(S.any),
  selfLink: S.string,
});

export type NameRule = 'label' | 'subdomain' | '1035';

/** Returns the number of errors that make the metadata unusable (types, missing name). */
export function checkMetadata(report: Reporter, metadata: unknown, nameRule: NameRule): number {
  if (metadata === undefined || metadata === null) {
    report.error(['metadata', 'name'], 'metadata.name is required', 'key');
    return 1;
  }
  let errors = checkShape(metadata, METADATA, ['metadata'], report);
  if (!isObject(metadata)) return errors;
  const { name, namespace, labels, annotations } = metadata;
  if (name === undefined || name === null || name === '') {
    report.error(['metadata', 'name'], 'name is required', 'key');
    errors++;
  } else if (typeof name === 'string') {
    const problem = nameProblem(name, nameRule);
    if (problem) report.error(['metadata', 'name'], problem);
  }
  if (typeof namespace === 'string' && !isDnsLabel(namespace)) {
    report.error(
      ['metadata', 'namespace'],
      `"${namespace}" is not a valid namespace: use at most 63 lower-case letters, digits and '-'`,
    );
  }
  checkLabels(report, ['metadata', 'labels'], labels);
  if (isObject(annotations)) {
    for (const key of Object.keys(annotations)) {
      const problem = labelKeyProblem(key);
      if (problem) report.error(['metadata', 'annotations', key], `annotation ${problem}`, 'key');
    }
  }
  return errors;
}
