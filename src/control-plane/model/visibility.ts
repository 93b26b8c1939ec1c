// exportTo as Istio reads it (visibility.Instance): `*` every namespace, `.` the resource's own,
// `~` none, or namespace names; a resource that sets none gets the mesh config's default.

export function effectiveExportTo(
  own: readonly string[] | undefined,
  meshDefault: readonly string[],
): readonly string[] {
  return own && own.length > 0 ? own : meshDefault;
}

/** May a proxy in `viewer` see a resource of namespace `owner` exported to `exportTo`? */
export function isExportedTo(exportTo: readonly string[], owner: string, viewer: string): boolean {
  return exportTo.some((e) => e === '*' || e === viewer || (e === '.' && owner === viewer));
}
