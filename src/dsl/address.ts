// Addresses: the one name of every resource, `kind/key`, used as the prefix of every message about
// it, as the key of plans, backups, targets and drift. This module is the only place that builds
// one or reads its parts (the runtime re-exports it): code that needs an id carries it or parses.
//
//   tenants/<id>   tenants/<id>/settings   tenants/<id>/sso
//   roles/<name>   roles/<tenant>/<name>   (a project role; a tenant's role)
//   permissions/<name>   flows/<id>   theme   password-policy
//
// Each <segment> is a live or configured value escaped by `escapeSegment`, so that an address
// maps to exactly one resource whatever characters names hold (a project role named `acme/Agent`
// is `roles/acme%2FAgent`, never the tenant role `roles/acme/Agent`), and so that an address is
// always one line of visible text: two resources never share an address, nor two addresses a look.
// Escaped, as %XX of their UTF-8 bytes:
// - `%` and `/` (the escape and the separator), and their look-alikes (⁄ ∕ ⧸ ／ ╱, ％ ٪ ﹪), which
//   would fake the structure on screen;
// - control characters (C0, DEL, C1), format and default-ignorable characters (bidi overrides,
//   isolates and marks, zero-width characters, variation selectors, tags, Hangul fillers),
//   U+2028/2029, spaces other than U+0020, and lone surrogates (as WTF-8, so they round-trip);
// - a space at the start or end of a segment (invisible at the end of a line).
// Everything else (inner spaces, letters of any script, emoji) stays as it is: `roles/Billing Admin`.
//
// The parser accepts any escaping (lower-case hex, needless escapes, raw characters) and
// `canonicalAddress` turns what a user typed into the one spelling the builders make.

/** Characters escaped wherever they are in a segment. */
const UNSAFE =
  /[%/\u2044\u2215\u29F8\uFF0F\u2571\uFF05\u066A\uFE6A\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]|(?! )\p{Zs}/gu;
const EDGE_SPACES = /^ +| +$/g;

function percentEncode(char: string): string {
  const cp = char.codePointAt(0)!;
  const bytes =
    cp < 0x80
      ? [cp]
      : cp < 0x800
        ? [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)]
        : cp < 0x10000
          ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
          : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

/** One address segment: a tenant id, a role or permission name, a flow id. */
export function escapeSegment(value: string): string {
  return value.replace(UNSAFE, percentEncode).replace(EDGE_SPACES, (spaces) => '%20'.repeat(spaces.length));
}

/**
 * The value a segment stands for, or undefined when it is not a valid escaping (a `%` without two
 * hex digits, bytes that are not UTF-8). Lone surrogates decode (WTF-8), so every value round-trips.
 */
export function unescapeSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  let out = '';
  let i = 0;
  const byteAt = (at: number): number | undefined => {
    if (segment[at] !== '%') return undefined;
    const hex = segment.slice(at + 1, at + 3);
    return /^[0-9A-Fa-f]{2}$/.test(hex) ? parseInt(hex, 16) : undefined;
  };
  while (i < segment.length) {
    if (segment[i] !== '%') {
      const cp = segment.codePointAt(i)!;
      const char = String.fromCodePoint(cp);
      out += char;
      i += char.length;
      continue;
    }
    const first = byteAt(i);
    if (first === undefined) return undefined;
    const length = first < 0x80 ? 1 : first >= 0xc2 && first <= 0xdf ? 2 : first >= 0xe0 && first <= 0xef ? 3 : first >= 0xf0 && first <= 0xf4 ? 4 : 0;
    if (length === 0) return undefined;
    let cp = length === 1 ? first : first & (0xff >> (length + 1));
    for (let k = 1; k < length; k += 1) {
      const next = byteAt(i + 3 * k);
      if (next === undefined || (next & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (next & 0x3f);
    }
    // Overlong forms and values past Unicode are not UTF-8.
    if ((length === 3 && cp < 0x800) || (length === 4 && (cp < 0x10000 || cp > 0x10ffff))) return undefined;
    out += String.fromCodePoint(cp);
    i += 3 * length;
  }
  return out;
}

export const THEME_ADDRESS = 'theme';
export const PASSWORD_POLICY_ADDRESS = 'password-policy';

export const tenantAddress = (id: string): string => `tenants/${escapeSegment(id)}`;
export const tenantSettingsAddress = (tenantId: string): string => `${tenantAddress(tenantId)}/settings`;
export const tenantSsoAddress = (tenantId: string): string => `${tenantAddress(tenantId)}/sso`;
export const permissionAddress = (name: string): string => `permissions/${escapeSegment(name)}`;
export const flowAddress = (id: string): string => `flows/${escapeSegment(id)}`;
/** Project roles are `roles/<name>`; tenant roles `roles/<tenant>/<name>` (an empty tenant is none). */
export const roleAddress = (role: { readonly name: string; readonly tenant?: string | undefined }): string =>
  role.tenant ? `roles/${escapeSegment(role.tenant)}/${escapeSegment(role.name)}` : `roles/${escapeSegment(role.name)}`;

/** What an address names. The kinds are the plan's. */
export type ParsedAddress =
  | { kind: 'tenant'; id: string }
  | { kind: 'tenantSettings'; tenant: string }
  | { kind: 'tenantSso'; tenant: string }
  | { kind: 'role'; name: string; tenant?: string }
  | { kind: 'permission'; name: string }
  | { kind: 'flow'; id: string }
  | { kind: 'theme' }
  | { kind: 'passwordPolicy' };

export type AddressKind = ParsedAddress['kind'];

/** The first segment of each kind's addresses; also what a target names to mean "every one of them". */
export const ADDRESS_PREFIXES = { tenants: 'tenant', roles: 'role', permissions: 'permission', flows: 'flow' } as const;

/** The resource an address names, or undefined when it is not one. */
export function parseAddress(address: string): ParsedAddress | undefined {
  if (address === THEME_ADDRESS) return { kind: 'theme' };
  if (address === PASSWORD_POLICY_ADDRESS) return { kind: 'passwordPolicy' };
  const raw = address.split('/');
  const [head, ...rest] = raw;
  const segments = rest.map(unescapeSegment);
  if (segments.some((s) => s === undefined)) return undefined;
  const [a, b] = segments as string[];
  switch (head) {
    case 'tenants':
      if (segments.length === 1) return { kind: 'tenant', id: a! };
      if (segments.length === 2 && rest[1] === 'settings') return { kind: 'tenantSettings', tenant: a! };
      if (segments.length === 2 && rest[1] === 'sso') return { kind: 'tenantSso', tenant: a! };
      return undefined;
    case 'roles':
      if (segments.length === 1) return { kind: 'role', name: a! };
      // `roles//x` would be a tenant role of no tenant: the builder spells that `roles/x`.
      if (segments.length === 2 && a !== '') return { kind: 'role', name: b!, tenant: a! };
      return undefined;
    case 'permissions':
      return segments.length === 1 ? { kind: 'permission', name: a! } : undefined;
    case 'flows':
      return segments.length === 1 ? { kind: 'flow', id: a! } : undefined;
    default:
      return undefined;
  }
}

/** The address of a parsed one (the builders' spelling). */
export function formatAddress(parsed: ParsedAddress): string {
  switch (parsed.kind) {
    case 'tenant':
      return tenantAddress(parsed.id);
    case 'tenantSettings':
      return tenantSettingsAddress(parsed.tenant);
    case 'tenantSso':
      return tenantSsoAddress(parsed.tenant);
    case 'role':
      return roleAddress(parsed);
    case 'permission':
      return permissionAddress(parsed.name);
    case 'flow':
      return flowAddress(parsed.id);
    case 'theme':
      return THEME_ADDRESS;
    case 'passwordPolicy':
      return PASSWORD_POLICY_ADDRESS;
  }
}

/** The builders' spelling of an address however it was escaped (`roles/acme%2fAgent` → `roles/acme%2FAgent`), or undefined. */
export function canonicalAddress(address: string): string | undefined {
  const parsed = parseAddress(address);
  return parsed ? formatAddress(parsed) : undefined;
}

