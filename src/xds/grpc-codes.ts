// gRPC status code names as Go prints them (codes.Code.String()): what istiod puts in its
// metrics' `err` label and what Envoy's %GRPC_STATUS% prints (its CamelCase form).

/** Indexed by the numeric code, 0 (OK) to 16 (Unauthenticated). */
export const GRPC_CODE_NAMES: readonly string[] = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];
