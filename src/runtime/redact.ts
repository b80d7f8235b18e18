// One redactor per run: it knows every secret value the run holds (the management key, and each
// secret apply resolves, registered before its write is sent) and takes them out of every text
// the runtime hands out: error messages, hints and codes, and the causes of waits. A server may
// echo what it was sent (a request body with the OIDC client secret in an error, the
// Authorization header in a proxy's HTML page), so server text is cleaned BEFORE anything cuts it
// short: cut first, and a prefix of the secret survives that no longer matches the whole.
//
// Each secret is searched in every form a server, a proxy or a log would write it in: raw,
// base64 (also of `<project>:<key>`, as in a Basic header), base64url, hex, URL-encoded (once
// and twice, either case of hex digit, `+` for a space), JSON-escaped (also with `\/` and
// `\u00xx` escapes) and HTML-escaped. A secret a server cut short itself is caught where the cut
// shows: a prefix of at least 8 characters at the end of a text or before an ellipsis
// (`...`, `…`, `[truncated]`), and a suffix of as many at the start of a text or after one.
// What is not caught: a short prefix (under 8 characters) at a cut, a part of a secret in the
// middle of a text, and encodings not listed here (gzip, encryption, a hash).

export const REDACTED = '[redacted]';

/** Values shorter than this are not redacted: they would garble ordinary words. */
const MIN_SECRET_LENGTH = 4;
/** The shortest part of a secret redacted at a cut point. */
const MIN_PARTIAL_LENGTH = 8;
const CUT_MARKERS = ['...', '…', '[truncated]', '(truncated)'];
/** What may follow a cut at the end of a text (a closing quote or bracket, whitespace). */
const TRAILING = /[\s"'`)\]}>]*$/;
const LEADING = /^[\s"'`([{<]*/;

export interface SecretOptions {
  /** Texts the secret is sent right after, in base64 as one value (`<project>:` for a Basic header). */
  base64Prefixes?: readonly string[];
}

export class Redactor {
  private readonly secrets = new Map<string, SecretOptions>();
  /** Whole forms, longest first. */
  private forms: string[] = [];
  /** Forms whose parts are looked for at cut points. */
  private partials: string[] = [];

  /** Registers a secret: from now on every form of it is taken out of what `clean` returns. */
  add(secret: string, options: SecretOptions = {}): void {
    if (secret.length < MIN_SECRET_LENGTH) return;
    const known = this.secrets.get(secret);
    const prefixes = [...new Set([...(known?.base64Prefixes ?? []), ...(options.base64Prefixes ?? [])])];
    this.secrets.set(secret, { base64Prefixes: prefixes });
    const forms = new Set<string>();
    const partials = new Set<string>();
    for (const [value, opts] of this.secrets) {
      for (const form of formsOf(value, opts.base64Prefixes ?? [])) if (form.length >= MIN_SECRET_LENGTH) forms.add(form);
      for (const form of [value, encodeURIComponent(value), jsonEscaped(value)]) if (form.length > MIN_PARTIAL_LENGTH) partials.add(form);
    }
    this.forms = [...forms].sort((a, b) => b.length - a.length);
    this.partials = [...partials];
  }

  /** Whether any secret is registered. */
  get empty(): boolean {
    return this.secrets.size === 0;
  }

  /** `text` with every registered secret, in every form and cut, replaced by `[redacted]`. */
  clean(text: string): string {
    if (this.secrets.size === 0 || text === '') return text;
    let out = text;
    for (const form of this.forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return this.cleanCuts(out);
  }

  /** Prefixes of a secret that end at a cut point, and suffixes that start at one. */
  private cleanCuts(text: string): string {
    const ends: number[] = [text.length - (TRAILING.exec(text)?.[0].length ?? 0)];
    const starts: number[] = [LEADING.exec(text)?.[0].length ?? 0];
    for (const marker of CUT_MARKERS) {
      for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + marker.length)) {
        ends.push(at);
        starts.push(at + marker.length);
      }
    }
    const ranges: [number, number][] = [];
    for (const form of this.partials) {
      for (const end of ends) {
        const length = longestPrefixEndingAt(text, end, form);
        if (length >= MIN_PARTIAL_LENGTH) ranges.push([end - length, end]);
      }
      for (const start of starts) {
        const length = longestSuffixStartingAt(text, start, form);
        if (length >= MIN_PARTIAL_LENGTH) ranges.push([start, start + length]);
      }
    }
    if (ranges.length === 0) return text;
    ranges.sort((a, b) => a[0] - b[0]);
    let out = '';
    let at = 0;
    for (const [from, to] of ranges) {
      if (to <= at) continue;
      out += text.slice(at, Math.max(at, from)) + (from >= at ? REDACTED : '');
      at = to;
    }
    return out + text.slice(at);
  }
}

/** The longest k < form.length with text[end-k, end) === form[0, k). */
function longestPrefixEndingAt(text: string, end: number, form: string): number {
  for (let k = Math.min(form.length - 1, end); k >= MIN_PARTIAL_LENGTH; k -= 1) {
    if (text.startsWith(form.slice(0, k), end - k)) return k;
  }
  return 0;
}

/** The longest k < form.length with text[start, start+k) === the last k characters of form. */
function longestSuffixStartingAt(text: string, start: number, form: string): number {
  for (let k = Math.min(form.length - 1, text.length - start); k >= MIN_PARTIAL_LENGTH; k -= 1) {
    if (text.startsWith(form.slice(form.length - k), start)) return k;
  }
  return 0;
}

function formsOf(value: string, base64Prefixes: readonly string[]): string[] {
  const bytes = Buffer.from(value);
  const base64 = bytes.toString('base64');
  const url = encodeURIComponent(value);
  const json = jsonEscaped(value);
  const forms = [
    value,
    base64,
    base64.replace(/=+$/, ''),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    url,
    url.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    url.replace(/%20/g, '+'),
    encodeURIComponent(url),
    json,
    json.replace(/\//g, '\\/'),
    json.replace(/[<>&'\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`),
    value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char),
    value.replace(/[&<>"'+/=]/g, (char) => `&#${char.charCodeAt(0)};`),
  ];
  for (const prefix of base64Prefixes) {
    const joined = Buffer.from(`${prefix}${value}`);
    forms.push(joined.toString('base64'), joined.toString('base64').replace(/=+$/, ''), joined.toString('base64url'));
  }
  return forms;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function jsonEscaped(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}
