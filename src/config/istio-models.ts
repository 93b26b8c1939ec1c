// The @kubernetes-models/istio classes whose bundled (ajv) validators check each Istio kind's types.
import * as extensionsV1alpha1 from '@kubernetes-models/istio/extensions.istio.io/v1alpha1';
import * as networkingV1 from '@kubernetes-models/istio/networking.istio.io/v1';
import * as networkingV1alpha3 from '@kubernetes-models/istio/networking.istio.io/v1alpha3';
import * as networkingV1beta1 from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import * as securityV1 from '@kubernetes-models/istio/security.istio.io/v1';
import * as securityV1beta1 from '@kubernetes-models/istio/security.istio.io/v1beta1';
import * as telemetryV1 from '@kubernetes-models/istio/telemetry.istio.io/v1';
import * as telemetryV1alpha1 from '@kubernetes-models/istio/telemetry.istio.io/v1alpha1';

/** One error of the package's validators (ajv's ErrorObject, the fields skiff reads). */
export interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
}

type ModelClass = new (data: object) => { validate(): void };

const MODULES: Record<string, Record<string, unknown>> = {
  'networking.istio.io/v1': networkingV1,
  'networking.istio.io/v1beta1': networkingV1beta1,
  'networking.istio.io/v1alpha3': networkingV1alpha3,
  'security.istio.io/v1': securityV1,
  'security.istio.io/v1beta1': securityV1beta1,
  'telemetry.istio.io/v1': telemetryV1,
  'telemetry.istio.io/v1alpha1': telemetryV1alpha1,
  'extensions.istio.io/v1alpha1': extensionsV1alpha1,
};

function modelClass(apiVersion: string, kind: string): ModelClass | undefined {
  const cls = MODULES[apiVersion]?.[kind];
  return typeof cls === 'function' ? (cls as ModelClass) : undefined;
}

/** Whether the package has a model (and so a schema) for `apiVersion` + `kind`. */
export function hasIstioModel(apiVersion: string, kind: string): boolean {
  return modelClass(apiVersion, kind) !== undefined;
}

/**
 * Runs the kind's schema over the whole object (apiVersion, kind, metadata, spec) and returns
 * every error ajv found; an empty list when it conforms.
 */
export function istioSchemaErrors(obj: Record<string, unknown>): SchemaError[] {
  const apiVersion = String(obj['apiVersion']);
  const kind = String(obj['kind']);
  const Model = modelClass(apiVersion, kind);
  if (!Model) return [];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: unknown }).errors;
    if (Array.isArray(errors)) return errors as SchemaError[];
    throw err;
  }
}
