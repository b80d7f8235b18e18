// The compiled-template cache (src/runner/templates/template-cache.ts): a run with a warm cache renders
// exactly what a run without one renders, errors included; an edit is a new entry, never a stale
// one; a damaged entry is ignored and rewritten; entries are 0600 in a 0700 folder; a folder that
// cannot be written only means compiling; the folder keeps at most MAX_ENTRIES entries.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { formatIssue, isDescopeRunError } from '../../src/errors.ts';
import { loadProject } from '../../src/runner/config/load-config.ts';
import { renderProject } from '../../src/runner/templates/render-project.ts';
import { MAX_ENTRIES, templateCacheDir } from '../../src/runner/templates/template-cache.ts';
import { createTemplateRenderer } from '../../src/runner/templates/templates.ts';
import { FIXTURES, REPO, runCli } from '../helpers/cli.ts';

const temps: string[] = [];
after(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'descope-run-cache-')));
  temps.push(dir);
  return dir;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.js')).sort();
  } catch {
    return [];
  }
}

type Outcome = { ok: true; text: string } | { ok: false; message: string; hint: string | undefined };

/** What rendering `name` gives, as text or as the error a user would see. */
function outcome(projectRoot: string, name: string, cacheDir: string | undefined, json: boolean): Outcome {
  const renderer = createTemplateRenderer({
    root: path.join(projectRoot, 'templates'),
    projectRoot,
    ...(cacheDir !== undefined ? { cacheDir } : {}),
  });
  const context = { title: 'Welcome', tags: ['a', 'b'], vars: { brandName: 'Acme' }, flow: { id: 'sign-in' } };
  try {
    const value = json ? renderer.renderJson(name, context) : renderer.render(name, context);
    return { ok: true, text: typeof value === 'string' ? value : JSON.stringify(value) };
  } catch (error) {
    assert.ok(isDescopeRunError(error), `a TemplateError, not ${String(error)}`);
    return { ok: false, message: error.message, hint: error.hint };
  }
}

describe('a warm cache renders what no cache renders', () => {
  test('every template fixture, as text and as JSON: no cache, cold cache, warm cache agree', async () => {
    const fixtures = (await readdir(path.join(FIXTURES, 'templates'))).sort();
    let compared = 0;
    for (const fixture of fixtures) {
      const projectRoot = path.join(FIXTURES, 'templates', fixture);
      const templates = path.join(projectRoot, 'templates');
      if (!(await stat(templates).catch(() => undefined))?.isDirectory()) continue;
      // Partials and macros too: each is a template of its own.
      const names = (await readdir(templates, { recursive: true })).map(String).filter((n) => n.endsWith('.njk'));
      for (const name of names) {
        for (const json of [false, true]) {
          const cacheDir = path.join(await tempDir(), 'cache');
          const plain = outcome(projectRoot, name, undefined, json);
          const cold = outcome(projectRoot, name, cacheDir, json);
          const written = await entries(cacheDir);
          const warm = outcome(projectRoot, name, cacheDir, json);
          const where = `${fixture}/${name}${json ? ' (json)' : ''}`;
          assert.deepEqual(cold, plain, `${where}: cold`);
          assert.deepEqual(warm, plain, `${where}: warm`);
          assert.deepEqual(await entries(cacheDir), written, `${where}: a warm run writes nothing new`);
          compared += 1;
        }
      }
    }
    assert.ok(compared >= 40, `compared ${compared} renders`);
  });

  test('a syntax error is never cached: it is reported again, the same way', async () => {
    const projectRoot = path.join(FIXTURES, 'templates', 'syntax-error-in-include');
    const cacheDir = path.join(await tempDir(), 'cache');
    const first = outcome(projectRoot, 'sign-in.json.njk', cacheDir, false);
    const second = outcome(projectRoot, 'sign-in.json.njk', cacheDir, false);
    assert.equal(first.ok, false);
    assert.deepEqual(second, first);
    assert.match((first as { message: string }).message, /^templates\/partials\/screen\.njk:3:26: template syntax error/);
  });

  test('the sample project: every flow and the theme, for every environment, identical with and without the cache', async () => {
    const cacheDir = path.join(await tempDir(), 'cache');
    for (const env of ['local', 'staging', 'prod']) {
      const project = await loadProject({ cwd: REPO, env, processEnv: {} });
      assert.ok(project.spec, project.issues.map(formatIssue).join('\n'));
      const plain = renderProject(project.spec, { root: project.root, env: project.env });
      const cold = renderProject(project.spec, { root: project.root, env: project.env, cacheDir });
      const warm = renderProject(project.spec, { root: project.root, env: project.env, cacheDir });
      assert.deepEqual(plain.issues, []);
      assert.deepEqual(cold, plain, `${env}: cold`);
      assert.deepEqual(warm, plain, `${env}: warm`);
    }
    // One entry per template file (flows, theme, partials, macros), whatever the environment:
    // the values are the render's, not the compile's.
    const files = (await readdir(path.join(REPO, 'templates'), { recursive: true })).filter((n) => String(n).endsWith('.njk'));
    assert.equal((await entries(cacheDir)).length, files.length);
  });
});

describe('entries', () => {
  async function project(): Promise<{ root: string; cacheDir: string; file: string }> {
    const root = await tempDir();
    await mkdir(path.join(root, 'templates'));
    const file = path.join(root, 'templates', 'v.njk');
    await writeFile(file, '{"a": {{ a | json }}}');
    return { root, cacheDir: path.join(root, 'cache'), file };
  }
  const render = (root: string, cacheDir: string | undefined, a: unknown) =>
    createTemplateRenderer({ root: path.join(root, 'templates'), projectRoot: root, ...(cacheDir ? { cacheDir } : {}) }).render('v.njk', { a });

  test('the cache is read: a run takes the stored code, not the file (so a key must cover every input)', async () => {
    const { root, cacheDir } = await project();
    assert.equal(render(root, cacheDir, 1), '{"a": 1}');
    const [entry] = await entries(cacheDir);
    assert.ok(entry);
    // Swap the stored code for another template's, with a matching checksum: the next run uses it.
    const other = await project();
    await writeFile(other.file, 'swapped {{ a | json }}');
    render(other.root, other.cacheDir, 1);
    const [otherEntry] = await entries(other.cacheDir);
    await writeFile(path.join(cacheDir, entry), await readFile(path.join(other.cacheDir, otherEntry!)));
    assert.equal(render(root, cacheDir, 2), 'swapped 2');
  });

  test('an edit is a new entry: the new text renders, and the old entry stays for going back', async () => {
    const { root, cacheDir, file } = await project();
    assert.equal(render(root, cacheDir, 1), '{"a": 1}');
    await writeFile(file, '{"b": {{ a | json }}}');
    assert.equal(render(root, cacheDir, 1), '{"b": 1}');
    assert.equal((await entries(cacheDir)).length, 2);
    await writeFile(file, '{"a": {{ a | json }}}');
    assert.equal(render(root, cacheDir, 3), '{"a": 3}');
    assert.equal((await entries(cacheDir)).length, 2);
  });

  test('the same text at another path is another entry (the path is in the compiled code, for errors)', async () => {
    const one = await project();
    const two = await project();
    render(one.root, one.cacheDir, 1);
    render(two.root, one.cacheDir, 1);
    assert.equal((await entries(one.cacheDir)).length, 2);
  });

  for (const [label, damage] of [
    ['truncated', (text: string) => text.slice(0, Math.floor(text.length / 2))],
    ['edited (checksum no longer matches)', (text: string) => text.replace('"a"', '"x"')],
    ['without its header', (text: string) => text.slice(text.indexOf('\n') + 1)],
    ['empty', () => ''],
  ] as const) {
    test(`a damaged entry, ${label}, is ignored and written again`, async () => {
      const { root, cacheDir } = await project();
      render(root, cacheDir, 1);
      const [entry] = await entries(cacheDir);
      const file = path.join(cacheDir, entry!);
      const good = await readFile(file, 'utf8');
      await writeFile(file, damage(good));
      assert.equal(render(root, cacheDir, 2), '{"a": 2}');
      assert.equal(await readFile(file, 'utf8'), good);
    });
  }

  test('an entry with the right checksum whose code does not run is compiled afresh and replaced', async () => {
    const { root, cacheDir } = await project();
    render(root, cacheDir, 1);
    const [entry] = await entries(cacheDir);
    const file = path.join(cacheDir, entry!);
    const good = await readFile(file, 'utf8');
    for (const code of ['this is not JavaScript (', 'throw new Error("boom")']) {
      await writeFile(file, `// sha256:${createHash('sha256').update(code).digest('hex')}\n${code}`);
      assert.equal(render(root, cacheDir, 2), '{"a": 2}');
      assert.equal(await readFile(file, 'utf8'), good);
    }
  });

  test('a hit marks its entry as recently used', async () => {
    const { root, cacheDir } = await project();
    render(root, cacheDir, 1);
    const [entry] = await entries(cacheDir);
    const file = path.join(cacheDir, entry!);
    const old = new Date(Date.now() - 86_400_000);
    await utimes(file, old, old);
    render(root, cacheDir, 2);
    assert.ok((await stat(file)).mtimeMs > Date.now() - 60_000);
  });

  test('entries are 0600 in a 0700 folder; no temporary file is left', async () => {
    const { root, cacheDir } = await project();
    render(root, cacheDir, 1);
    assert.equal((await stat(cacheDir)).mode & 0o777, 0o700);
    const names = await readdir(cacheDir);
    assert.equal(names.length, 1);
    assert.equal((await stat(path.join(cacheDir, names[0]!))).mode & 0o777, 0o600);
  });

  test('a cache folder that cannot be created or written only means compiling', async () => {
    const { root } = await project();
    const blocker = path.join(root, 'not-a-folder');
    await writeFile(blocker, '');
    assert.equal(render(root, path.join(blocker, 'cache'), 1), '{"a": 1}');
    assert.equal(render(root, path.join(blocker, 'cache'), 2), '{"a": 2}');
    if (process.getuid?.() !== 0) {
      const readOnly = path.join(root, 'read-only');
      await mkdir(readOnly, { mode: 0o500 });
      assert.equal(render(root, readOnly, 3), '{"a": 3}');
      await chmod(readOnly, 0o700);
      assert.deepEqual(await readdir(readOnly), []);
    }
  });

  test(`the folder keeps the ${MAX_ENTRIES} most recently used entries; a temporary file left over an hour is removed`, async () => {
    const { root, cacheDir } = await project();
    await mkdir(cacheDir, { recursive: true });
    const old = new Date(Date.now() - 86_400_000);
    for (let i = 0; i < MAX_ENTRIES + 5; i += 1) {
      const name = path.join(cacheDir, `${String(i).padStart(64, '0')}.js`);
      await writeFile(name, '// stale\n');
      await utimes(name, old, new Date(old.getTime() + i * 1000));
    }
    const leftover = path.join(cacheDir, 'x.js.abc.tmp');
    await writeFile(leftover, '');
    await utimes(leftover, old, old);
    const fresh = path.join(cacheDir, 'y.js.def.tmp');
    await writeFile(fresh, '');

    render(root, cacheDir, 1);
    const kept = await entries(cacheDir);
    assert.equal(kept.length, MAX_ENTRIES);
    for (let i = 0; i < 6; i += 1) assert.ok(!kept.includes(`${String(i).padStart(64, '0')}.js`), `the oldest (${i}) went`);
    assert.ok(kept.includes(`${String(6).padStart(64, '0')}.js`));
    const names = await readdir(cacheDir);
    assert.ok(!names.includes('x.js.abc.tmp'), 'an old temporary file is removed');
    assert.ok(names.includes('y.js.def.tmp'), 'a recent one may be another run writing: kept');
  });
});

describe('the commands', () => {
  test('validate fills node_modules/.descope-run/templates/; DESCOPE_RUN_NO_CACHE=1 leaves none', async () => {
    const dir = await tempDir();
    await cp(path.join(FIXTURES, 'templates', 'include-and-macro', 'templates'), path.join(dir, 'templates'), { recursive: true });
    await writeFile(
      path.join(dir, 'descope.config.ts'),
      `import { defineConfig, flow } from 'descope-run';
export default defineConfig({ flows: [flow({ id: 'sign-in', template: 'sign-in.json.njk' })] });
`,
    );
    const cacheDir = templateCacheDir(dir, {})!;
    assert.equal(cacheDir, path.join(dir, 'node_modules', '.descope-run', 'templates'));
    assert.equal(templateCacheDir(dir, { DESCOPE_RUN_NO_CACHE: '1' }), undefined);

    const off = await runCli(['render', '--env', 'local'], { cwd: dir, env: { DESCOPE_RUN_NO_CACHE: '1' } });
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(await entries(cacheDir), []);

    const cold = await runCli(['render', '--env', 'local'], { cwd: dir });
    assert.equal(cold.code, 0, cold.stderr);
    const written = await entries(cacheDir);
    assert.ok(written.length >= 3, `the flow, its partials and its macros: ${written.join(', ')}`);
    const warm = await runCli(['render', '--env', 'local'], { cwd: dir });
    assert.equal(warm.code, 0, warm.stderr);
    assert.equal(warm.stdout, cold.stdout);
    assert.equal(warm.stdout, off.stdout);
    assert.deepEqual(await entries(cacheDir), written);
  });
});
