// The `data.resource` of the emulator's audit records (and the name its messages give a resource):
// `kind/key`, each key segment with `%` and `/` escaped as %25 and %2F, so that a name holding "/"
// names one resource: the project role `acme/Agent` is `roles/acme%2FAgent`, the role `Agent` of
// tenant `acme` is `roles/acme/Agent`. It is the core of descope-run's address escaping
// (src/dsl/address.ts), in a copy of its own because the emulator imports nothing from the rest;
// descope-run's parser reads it (and escapes the rest of what it escapes when it re-spells it).

export function segment(value: string): string {
  return value.replace(/%/g, '%25').replace(/\//g, '%2F');
}

export function resource(kind: string, ...keys: string[]): string {
  return [kind, ...keys.map(segment)].join('/');
}
