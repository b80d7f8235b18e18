// out-file.ts, in process on real files in a temp folder: what it writes (0600, folders 0700, the
// whole content), what it refuses (a file it did not write, a symbolic link, a folder, a device,
// a file that appears while it writes) and that a refusal or failure leaves nothing behind.
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { isDescopeRunError } from '../../src/errors.ts';
import { jsonFormatIs, writeOutFile, writeOutFiles, type ExistingFile } from '../../src/runner/store/private-file.ts';

const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'descope-run-out-file-')));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const dir = path.join(root, String((n += 1)));
  mkdirSync(dir);
  return dir;
};
const mode = (file: string) => statSync(file).mode & 0o777;
const ours = jsonFormatIs('descope-run/thing');
const OURS = '{\n  "format": "descope-run/thing"\n}\n';

function refusedWith(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isDescopeRunError(error), String(error));
    assert.match(error.message, pattern);
    assert.ok(error.hint, 'a refusal says what to do');
    return true;
  };
}

describe('out-file', () => {
  test('a new file is 0600; folders it creates are 0700; without createFolders a missing folder is one clear error', () => {
    const dir = fresh();
    const file = path.join(dir, 'a', 'b', 'x.json');
    writeOutFile({ file, content: OURS }, { what: 'the thing', createFolders: true });
    assert.equal(readFileSync(file, 'utf8'), OURS);
    assert.equal(mode(file), 0o600);
    assert.deepEqual([mode(path.join(dir, 'a')), mode(path.join(dir, 'a', 'b'))], [0o700, 0o700]);
    assert.throws(
      () => writeOutFile({ file: path.join(dir, 'none', 'x.json'), display: 'none/x.json', content: OURS }, { what: 'the thing' }),
      refusedWith(/^none\/x\.json: could not write the thing \(ENOENT\): the folder none does not exist; nothing was written$/),
    );
  });

  test('an existing file is replaced only when it is recognised as ours, or with force; then it is 0600', () => {
    const dir = fresh();
    const file = path.join(dir, 'x.json');
    writeFileSync(file, '{"name": "app"}\n');
    assert.throws(() => writeOutFile({ file, display: 'x.json', content: OURS, ours }, { what: 'the thing' }), refusedWith(/^x\.json: exists and was not written by descope-run; nothing was written$/));
    assert.equal(readFileSync(file, 'utf8'), '{"name": "app"}\n');
    writeOutFile({ file, content: OURS, ours }, { what: 'the thing', force: true });
    chmodSync(file, 0o644);
    writeOutFile({ file, content: `${OURS}\n`, ours }, { what: 'the thing' });
    assert.equal(readFileSync(file, 'utf8'), `${OURS}\n`);
    assert.equal(mode(file), 0o600);
    assert.deepEqual(readdirSync(dir), ['x.json'], 'a temporary file was left');
  });

  test('a symbolic link is never followed: refused, and with force replaced itself', () => {
    const dir = fresh();
    const target = path.join(dir, 'target.json');
    writeFileSync(target, OURS);
    const link = path.join(dir, 'link.json');
    symlinkSync('target.json', link);
    // Even a link to a file that is ours: what it points to is not this file.
    assert.throws(() => writeOutFile({ file: link, display: 'link.json', content: 'new', ours }, { what: 'the thing' }), refusedWith(/^link\.json: exists and was not written by descope-run \(it is a symbolic link/));
    writeOutFile({ file: link, content: 'new', ours }, { what: 'the thing', force: true });
    assert.equal(lstatSync(link).isSymbolicLink(), false);
    assert.equal(readFileSync(link, 'utf8'), 'new');
    assert.equal(readFileSync(target, 'utf8'), OURS, 'the write went through the link');
  });

  test('a folder or a device is refused even with force', () => {
    const dir = fresh();
    mkdirSync(path.join(dir, 'sub'));
    assert.throws(() => writeOutFile({ file: path.join(dir, 'sub'), display: 'sub', content: 'x' }, { what: 'the thing', force: true }), refusedWith(/^sub: could not write the thing \(EISDIR\): it is a folder/));
    assert.throws(() => writeOutFile({ file: '/dev/null', content: 'x' }, { what: 'the thing', force: true }), refusedWith(/^\/dev\/null: is not a regular file/));
    assert.equal(statSync('/dev/null').isCharacterDevice(), true);
  });

  test('several files: all or none; a file that appears after the check is not replaced', () => {
    const dir = fresh();
    const [a, b, c] = ['a.json', 'b.json', 'c.json'].map((name) => path.join(dir, name)) as [string, string, string];
    writeFileSync(c, 'user file');
    assert.throws(
      () => writeOutFiles([{ file: a, content: OURS }, { file: b, content: OURS }, { file: c, display: 'c.json', content: OURS, ours }], { what: 'the things' }),
      refusedWith(/^c\.json: exists and was not written by descope-run/),
    );
    assert.deepEqual(readdirSync(dir), ['c.json'], 'a file was written although one was refused');

    // b is free when checked; c's check (run after) puts a user's file at b, as another process could.
    writeFileSync(c, OURS);
    const racing = (existing: ExistingFile) => {
      writeFileSync(b, 'written meanwhile');
      return ours(existing);
    };
    assert.throws(
      () => writeOutFiles([{ file: b, display: 'b.json', content: OURS }, { file: c, content: OURS, ours: racing }], { what: 'the things' }),
      refusedWith(/^b\.json: exists and was not written by descope-run \(it appeared while descope-run was writing\)/),
    );
    assert.equal(readFileSync(b, 'utf8'), 'written meanwhile');
    assert.deepEqual(readdirSync(dir).sort(), ['b.json', 'c.json'], 'a temporary file was left');
  });

  test('recognising JSON by its first member', () => {
    const cases: [string, boolean][] = [
      ['{"format":"descope-run/thing","version":1}', true],
      ['\uFEFF  {\n\t"format" : "descope-run/thing"}', true],
      ['{"format": "descope-run/things"}', false],
      ['{"name": "x", "format": "descope-run/thing"}', false],
      ['"format": "descope-run/thing"', false],
      ['', false],
    ];
    for (const [text, expected] of cases) {
      const head = (bytes = 4096) => text.replace(/^\uFEFF/, '').slice(0, bytes);
      assert.equal(ours({ head }), expected, JSON.stringify(text));
    }
  });
});
