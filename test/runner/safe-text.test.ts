// The two layers of src/runner/cli/safe-text.ts, table-driven: safeText (every untrusted string in a
// line), safeOutput (the net in output.ts), formatJson, and the output layer itself on fake
// streams (out, err, the status line), colour on and off.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import kleur from 'kleur';
import { createOutput } from '../../src/runner/cli/output.ts';
import { escapeCodePoint, formatJson, PAINTER_SGR, safeFolded, safeLines, safeOutput, safeText } from '../../src/runner/cli/safe-text.ts';

const ESC = '\x1b';

describe('safeText: one visible line', () => {
  const cases: [name: string, input: string, expected: string][] = [
    ['plain ASCII is kept', 'tenants/acme Corp.', 'tenants/acme Corp.'],
    ['letters of every script are kept', 'Ünïcødé 名前 אבג عربي é', 'Ünïcødé 名前 אבג عربي é'],
    ['a backslash is kept as it is', 'C:\\temp', 'C:\\temp'],
    ['LF, CR and TAB', 'a\nb\rc\td', 'a\\nb\\rc\\td'],
    ['a forged plan line stays on its line', 'x\nPlan: 0 to create', 'x\\nPlan: 0 to create'],
    ['NUL and the other C0 controls', '\x00\x07\x08\x0b\x0c\x1f', '\\u0000\\u0007\\u0008\\u000b\\u000c\\u001f'],
    ['ESC [2K (erase the line)', `${ESC}[2K`, '\\u001b[2K'],
    ['an SGR colour from data', `${ESC}[31mred${ESC}[0m`, '\\u001b[31mred\\u001b[0m'],
    ['an OSC 8 link', `${ESC}]8;;http://evil${ESC}\\click${ESC}]8;;${ESC}\\`, '\\u001b]8;;http://evil\\u001b\\click\\u001b]8;;\\u001b\\'],
    ['DEL', 'a\x7fb', 'a\\u007fb'],
    ['C1 controls: U+0085 NEL, U+009B CSI', 'a\u0085b\u009b2Kc', 'a\\u0085b\\u009b2Kc'],
    ['bidi overrides and embeddings U+202A-U+202E', '\u202a\u202b\u202c\u202d\u202e', '\\u202a\\u202b\\u202c\\u202d\\u202e'],
    ['bidi isolates U+2066-U+2069', '\u2066\u2067\u2068\u2069', '\\u2066\\u2067\\u2068\\u2069'],
    ['bidi marks LRM, RLM, ALM', '\u200e\u200f\u061c', '\\u200e\\u200f\\u061c'],
    ['a reversed file name', 'invoice\u202egpj.exe', 'invoice\\u202egpj.exe'],
    ['zero-width space, non-joiner, word joiner, invisible operators', '\u200b\u200c\u2060\u2061\u2062\u2063\u2064', '\\u200b\\u200c\\u2060\\u2061\\u2062\\u2063\\u2064'],
    ['a zero-width joiner between letters', 'a\u200db', 'a\\u200db'],
    ['the BOM and the soft hyphen', '\ufeffac\u00adme', '\\ufeffac\\u00adme'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['Hangul fillers (invisible names)', '\u3164\u115f', '\\u3164\\u115f'],
    ['a Mongolian vowel separator, interlinear annotation', '\u180e\ufff9', '\\u180e\\ufff9'],
    ['tag characters (invisible ASCII)', 'a\u{e0041}\u{e007f}', 'a\\u{e0041}\\u{e007f}'],
    ['a variation selector that is not emoji presentation', '\u5203\ufe00 \u{e0100}', '\u5203\\ufe00 \\u{e0100}'],
    ['noncharacters', '\ufffe\uffff', '\\ufffe\\uffff'],
    ['lone surrogates', 'a\ud800b\udc00', 'a\\ud800b\\udc00'],
    ['a surrogate pair is one character, kept', '🎉', '🎉'],
    ['emoji presentation after a character is kept', '❤️ ☀️ ✔️ ⚠️', '❤️ ☀️ ✔️ ⚠️'],
    ['emoji presentation alone, or after an escaped character, is not', '\ufe0f\u200b\ufe0f', '\\ufe0f\\u200b\\ufe0f'],
    ['two presentation selectors in a row: the second is escaped', '❤\ufe0f\ufe0f', '❤\ufe0f\\ufe0f'],
    ['a joiner between pictographs is kept (ZWJ sequences)', '👩‍💻 👩🏽‍💻 ❤️‍🔥 🏳️‍🌈', '👩‍💻 👩🏽‍💻 ❤️‍🔥 🏳️‍🌈'],
    ['a joiner after a pictograph and before a letter is not', '👩\u200dx', '👩\\u200dx'],
    ['combining marks are kept', 'e\u0301 a\u0308', 'e\u0301 a\u0308'],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => {
      const out = safeText(input);
      assert.equal(out, expected);
      assert.equal(safeText(out), out, 'idempotent');
      assert.doesNotMatch(out, /[\n\r\x1b\u009b\u202e]/u);
    });
  }

  test('every code point of C0, DEL and C1 is escaped', () => {
    for (let cp = 0; cp <= 0x9f; cp += 1) {
      if (cp >= 0x20 && cp < 0x7f) continue;
      const char = String.fromCodePoint(cp);
      assert.equal(safeText(char), escapeCodePoint(char), `U+${cp.toString(16)}`);
      assert.notEqual(safeText(char), char);
    }
  });

  test('safeLines keeps our line breaks and escapes inside each line; safeFolded folds server text to one line', () => {
    assert.equal(safeLines(`--- a\n+ ${ESC}[2K\u202e\n- b\r`), '--- a\n+ \\u001b[2K\\u202e\n- b\\r');
    assert.equal(safeFolded('<html>\r\n  <body>Bad\u202e gateway</body>\n</html>\n'), '<html> <body>Bad\\u202e gateway</body> </html>');
  });
});

describe('safeOutput: the net over every write', () => {
  const cases: [name: string, input: string, color: boolean, expected: string][] = [
    ['plain lines pass', 'a\nb\tc', false, 'a\nb\tc'],
    ['colour off: no ESC survives, not even SGR', `${ESC}[32mok${ESC}[39m`, false, '\\u001b[32mok\\u001b[39m'],
    ['colour on: the painter\'s SGR passes', `${ESC}[1m${ESC}[32mok${ESC}[39m${ESC}[22m`, true, `${ESC}[1m${ESC}[32mok${ESC}[39m${ESC}[22m`],
    ['colour on: an SGR the painter never writes (conceal, reset, black) is escaped', `${ESC}[8mx${ESC}[0m${ESC}[30;40m`, true, '\\u001b[8mx\\u001b[0m\\u001b[30;40m'],
    ['colour on: a mixed SGR with one foreign code is escaped', `${ESC}[1;8m`, true, '\\u001b[1;8m'],
    ['colour on: erase line, cursor moves, OSC are escaped', `${ESC}[2K${ESC}[1A${ESC}]0;title${ESC}\\`, true, '\\u001b[2K\\u001b[1A\\u001b]0;title\\u001b\\'],
    ['CR, C1, bidi are escaped', 'a\rb\u009bc\u202ed', true, 'a\\rb\\u009bc\\u202ed'],
    ['emoji survive', '⚠️ 👩‍💻', false, '⚠️ 👩‍💻'],
  ];
  for (const [name, input, color, expected] of cases) test(name, () => assert.equal(safeOutput(input, color), expected));

  test('PAINTER_SGR is exactly what kleur writes for the paints the CLI uses', () => {
    const was = kleur.enabled;
    kleur.enabled = true;
    try {
      const painted = [kleur.bold, kleur.dim, kleur.red, kleur.green, kleur.yellow, kleur.magenta].map((paint) => paint('x'));
      painted.push(kleur.dim(`a ${kleur.red('b')} c`), kleur.bold(kleur.green('d')));
      const codes = new Set(painted.flatMap((text) => [...text.matchAll(/\x1b\[([0-9;]*)m/g)].flatMap((m) => m[1]!.split(';'))));
      assert.deepEqual([...codes].sort(), [...PAINTER_SGR].sort());
      for (const text of painted) assert.equal(safeOutput(text, true), text);
    } finally {
      kleur.enabled = was;
    }
  });
});

describe('formatJson: valid JSON, the same value, no raw unsafe character', () => {
  const values: unknown[] = [
    { name: `x${ESC}[2K\r\nPlan: 0 to create\u202e\u009b\u007f\u2028\u{e0041}\ufeff`, list: ['❤️', '👩‍💻', 'ok'] },
    'a\ud800b',
    [1, null, true, { '\u202ekey': 'v' }],
  ];
  for (const [i, value] of values.entries()) {
    test(`value ${i}`, () => {
      for (const indent of [undefined, 2]) {
        const json = formatJson(value, indent);
        assert.deepEqual(JSON.parse(json), value);
        assert.doesNotMatch(json, /[\r\x1b\x7f\u0080-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\u{e0000}-\u{e007f}]/u);
      }
    });
  }

  test('plain JSON is byte-identical to JSON.stringify', () => {
    const value = { a: [1, 'two', { three: 'é 名 🎉' }], b: null };
    assert.equal(formatJson(value, 2), JSON.stringify(value, null, 2));
  });
});

class Capture extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

describe('the output layer (output.ts)', () => {
  const hostile = `tenants/x${ESC}[2K\rFORGED\u202e\u009b`;

  for (const color of [false, true]) {
    test(`out and err write through the net (colour ${color ? 'on' : 'off'})`, () => {
      const stdout = new Capture(false);
      const stderr = new Capture(false);
      const output = createOutput({ stdout, stderr, processEnv: color ? { FORCE_COLOR: '1' } : {} });
      output.out(`${output.c.green('+')} ${hostile}`);
      output.err(output.c.red(hostile));
      for (const text of [stdout.text, stderr.text]) {
        assert.doesNotMatch(text, /[\r\u009b\u202e]/u);
        const escapes = [...text.matchAll(/\x1b(\[[0-9;]*m)?/g)];
        if (color) assert.ok(escapes.length > 0 && escapes.every((m) => m[1] !== undefined), JSON.stringify(text));
        else assert.equal(escapes.length, 0, JSON.stringify(text));
        assert.ok(text.includes('\\u001b[2K\\rFORGED\\u202e\\u009b'), JSON.stringify(text));
      }
      kleur.enabled = false;
    });
  }

  test('the status line: CR and erase-line are its own, its text is data; nothing when stderr is not a terminal', () => {
    const tty = new Capture(true);
    const output = createOutput({ stdout: new Capture(false), stderr: tty, processEnv: {} });
    output.status(`retrying ${hostile} in 1.0 s (bad\ngateway)`);
    output.status();
    output.status();
    assert.equal(tty.text, `\r${ESC}[Kretrying tenants/x\\u001b[2K\\rFORGED\\u202e\\u009b in 1.0 s (bad\\ngateway)\r${ESC}[K`);

    const pipe = new Capture(false);
    createOutput({ stdout: new Capture(false), stderr: pipe, processEnv: {} }).status('reading…');
    assert.equal(pipe.text, '');
  });
});

test('nothing in src/runner writes to the terminal past output.ts', async () => {
  const { readdir, readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const root = path.join(import.meta.dirname, '..', '..', 'src', 'runner');
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts') && f !== path.join('cli', 'output.ts'));
  const offenders: string[] = [];
  for (const file of files) {
    const text = await readFile(path.join(root, file), 'utf8');
    for (const [i, line] of text.split('\n').entries()) {
      if (/\b(stdout|stderr)\.write\(|\bconsole\.(log|error|warn|info)\(|process\.(stdout|stderr)\b/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
    }
  }
  // The one exception: readline writes the confirmation prompt itself (its data is made safe at the call).
  assert.deepEqual(offenders.filter((o) => !/createInterface\(\{ input: process\.stdin, output: process\.stderr \}\)/.test(o)), []);
});
