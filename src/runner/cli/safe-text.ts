// Text from outside (live names and values, Descope's error texts, audit actors, backup, plan,
// lock and audit files, the config) is data, and a terminal, a browser or a markdown renderer must
// show it as data, never obey it. This module owns that rule, in two layers:
//
// 1. At format time, `safeText` turns every untrusted string that goes inside a line into one
//    visible line: each code point in the UNSAFE set becomes an escape (`\n`, `\u001b`, `\u202e`,
//    `\u{e0041}`). The set: every control character (C0 with CR, LF and TAB, DEL, C1, whose U+009B
//    is a CSI on some terminals); every format character (Cf: the bidi embeddings, overrides,
//    isolates and marks, zero-width spaces and joiners, the BOM, the soft hyphen, tag characters);
//    the line and paragraph separators; every other default-ignorable code point (Hangul fillers,
//    variation selectors, …: characters that draw nothing, so two names that look alike differ);
//    noncharacters; lone surrogates. Two exceptions keep emoji whole, and neither can hide text:
//    U+FE0E/U+FE0F (text/emoji presentation) right after a visible character, and U+200D (zero-width
//    joiner) between two pictographs. A string that went through `safeText` has no line break and
//    nothing that moves the cursor, switches direction or draws nothing.
//
//    `formatJson` is the same for JSON: valid JSON with the same meaning, those characters written
//    as \uXXXX escapes (JSON.stringify escapes C0 itself but leaves DEL, C1, bidi controls and
//    U+2028 raw).
//
// 2. At the output layer (output.ts), `safeOutput` is a net over whatever is written: every UNSAFE
//    code point is escaped except LF (line breaks are ours: layer 1 has escaped every LF inside
//    data), TAB, and, only when colour is on, the SGR sequences our painter emits. Why that is
//    enough to tell ours from injected ones: kleur writes only `ESC [ <n> m` with n in
//    PAINTER_SGR (bold, dim, red, green, yellow, magenta and their resets). Layer 1 escaped every
//    ESC inside data, so an injected sequence can only reach layer 2 through a call site that
//    forgot layer 1; even then, with colour off no ESC survives at all, and with colour on only
//    those SGR codes do: a missed site can at worst recolour text, never erase, move the cursor,
//    conceal text, open a link or set a title. Anything else with an ESC is written as `\u001b…`.
//    The one other control that reaches a terminal is the status line's own CR and erase-line
//    (output.ts status()), written before a text that has been through safeText whole.
//
// What this does not do: legitimate right-to-left letters (Hebrew, Arabic) are kept, and a
// bidi-capable terminal still lays them out right to left within their line.

/** The code points that never reach an output raw (see above). */
const UNSAFE_CLASS =
  '\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}\\p{Default_Ignorable_Code_Point}\\p{Noncharacter_Code_Point}';
// The `v` flag: its set subtraction keeps the line breaks (and tabs) a JSON document or an output
// block is made of out of the match without a lookahead, and V8 scans a `v` class several times
// faster (a 17 MB plan: a fraction of a second, where a per-line callback took 5 s).
const UNSAFE = new RegExp(`[${UNSAFE_CLASS}]`, 'v');
const UNSAFE_ALL = new RegExp(`[${UNSAFE_CLASS}]`, 'gv');
const UNSAFE_BUT_LF = new RegExp(`[[${UNSAFE_CLASS}]--[\\n]]`, 'v');
const UNSAFE_BUT_LF_ALL = new RegExp(`[[${UNSAFE_CLASS}]--[\\n]]`, 'gv');
const OUTPUT_UNSAFE_TEST = new RegExp(`[[${UNSAFE_CLASS}]--[\\n\\t]]`, 'v');

/** The SGR parameters kleur emits for the paints we use (output.ts's Paint): 1/22 bold, 2/22 dim, 31/32/33/35 and 39. */
export const PAINTER_SGR: ReadonlySet<string> = new Set(['1', '2', '22', '31', '32', '33', '35', '39']);

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const hex = (n: number, digits: number): string => n.toString(16).padStart(digits, '0');

/** The visible escape of one code point: `\n`, `\u001b`, `\u{e0041}`. */
export function escapeCodePoint(char: string): string {
  const short = SHORT[char];
  if (short) return short;
  const cp = char.codePointAt(0)!;
  return cp > 0xffff ? `\\u{${hex(cp, 5)}}` : `\\u${hex(cp, 4)}`;
}

const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const EMOJI_MODIFIER = /[\u{1f3fb}-\u{1f3ff}]/u;

/** The code point that ends just before `offset`, or '' at the start. */
function before(text: string, offset: number): string {
  if (offset === 0) return '';
  const low = text.charCodeAt(offset - 1);
  if (offset >= 2 && low >= 0xdc00 && low <= 0xdfff) {
    const high = text.charCodeAt(offset - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.slice(offset - 2, offset);
  }
  return text[offset - 1]!;
}

/** Whether `char` (an UNSAFE code point at `offset`) is one of the two emoji exceptions. */
function isEmojiPart(text: string, char: string, offset: number): boolean {
  if (char === '\ufe0f' || char === '\ufe0e') {
    const prev = before(text, offset);
    return prev !== '' && !UNSAFE.test(prev);
  }
  if (char === '\u200d') {
    let prevOffset = offset;
    let prev = before(text, prevOffset);
    // 👩🏽‍💻, ❤️‍🔥: a skin tone or an emoji presentation selector may sit between the pictograph and the joiner.
    if (prev === '\ufe0f' || EMOJI_MODIFIER.test(prev)) {
      prevOffset -= prev.length;
      prev = before(text, prevOffset);
    }
    const next = String.fromCodePoint(text.codePointAt(offset + 1) ?? 0);
    return PICTOGRAPH.test(prev) && PICTOGRAPH.test(next);
  }
  return false;
}

/** Whether the text holds an UNSAFE code point (the emoji exceptions included). */
export function hasUnsafe(text: string): boolean {
  return UNSAFE.test(text);
}

/** Every UNSAFE code point, the emoji exceptions included, replaced by `replace(char)` (for the escapes of another syntax, e.g. YAML's). */
export function replaceUnsafe(text: string, replace: (char: string) => string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, replace) : text;
}

/**
 * Layer 1: the text as one visible line, every UNSAFE code point (but the two emoji exceptions) as
 * its escape. Every string from outside that is inlined in a line of output goes through this.
 */
export function safeText(text: string): string {
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE_ALL, (char: string, offset: number) => (isEmojiPart(text, char, offset) ? char : escapeCodePoint(char)));
}

/** Each line of a multi-line block we built ourselves (a unified diff, a stack trace) made safe; the line breaks kept. */
export function safeLines(text: string): string {
  return text.split('\n').map(safeText).join('\n');
}

/** Server text (an error description, a proxy's page) on one line: line breaks and the space around them folded to one space, then made safe. */
export function safeFolded(text: string): string {
  return safeText(text.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ').trim());
}

const SGR = /^\x1b\[([0-9;]*)m/;
const OUTPUT_UNSAFE = new RegExp(`\\x1b\\[[0-9;]*m|[[${UNSAFE_CLASS}]--[\\n\\t]]`, 'gv');

/**
 * Layer 2, the net over everything written (output.ts): UNSAFE code points escaped, except LF,
 * TAB, the emoji exceptions and, when `color`, the painter's own SGR sequences (PAINTER_SGR).
 */
export function safeOutput(text: string, color: boolean): string {
  if (!OUTPUT_UNSAFE_TEST.test(text)) return text;
  return text.replace(OUTPUT_UNSAFE, (match: string, offset: number) => {
    // An SGR sequence (ESC [ … m, the only match longer than one UTF-16 unit that starts with ESC).
    if (match.length > 1 && match.startsWith('\x1b')) {
      const params = SGR.exec(match)![1]!;
      const ours = color && params.split(';').every((p) => PAINTER_SGR.has(p));
      return ours ? match : `${escapeCodePoint('\x1b')}${match.slice(1)}`;
    }
    return isEmojiPart(text, match, offset) ? match : escapeCodePoint(match);
  });
}

/** A JSON text's UNSAFE code points as \uXXXX escapes (surrogate pairs for the astral ones); LF kept (JSON.stringify escapes it inside strings). */
export function escapeJsonText(json: string): string {
  if (!UNSAFE_BUT_LF.test(json)) return json;
  return json.replace(UNSAFE_BUT_LF_ALL, (char: string) => {
    let out = '';
    for (let i = 0; i < char.length; i += 1) out += `\\u${hex(char.charCodeAt(i), 4)}`;
    return out;
  });
}

/** JSON.stringify, with every UNSAFE character escaped: valid JSON, the same value when parsed. */
export function formatJson(value: unknown, indent?: number): string {
  return escapeJsonText(JSON.stringify(value, null, indent));
}
