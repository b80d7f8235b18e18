// Compiled templates, kept between runs. Nunjucks turns a template into JavaScript (lexer, parser,
// compiler); for the sample's templates that is about 45 ms of every validate, render, diff and
// apply (rendering them takes about 65 ms without the cache, 20 ms with it). The cache keeps that
// JavaScript, keyed by a SHA-256 of everything the compiler reads: the template's text and path,
// the environment's options and the Nunjucks version. An edit is a new key, so an entry is never
// stale; nothing is invalidated.
//
// Where: <project>/node_modules/.descope-run/templates/ (the folder descope-run already uses for
// the bundled config), one file per key, 0600 in a 0700 folder, written to a temporary name and
// renamed, so a reader sees a whole entry or none. Each entry starts with the SHA-256 of its code;
// an entry that does not match (truncated, edited) is a miss and is written again. A hit touches its
// entry; at most MAX_ENTRIES are kept, the first write of a run pruning the least recently used.
//
// The cache is only ever a shortcut: a folder that cannot be read or written means compiling as
// before, silently. DESCOPE_RUN_NO_CACHE=1 turns it off.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Bumped when the entry format or what the code depends on changes. */
const FORMAT = 'descope-run template cache 1';
export const MAX_ENTRIES = 1000;
const HEADER = /^\/\/ sha256:([0-9a-f]{64})\n/;

export interface TemplateCache {
  /** The compiled code stored under `key`, or undefined. */
  get(key: string): string | undefined;
  /** Stores `code` under `key`; errors are swallowed. */
  set(key: string, code: string): void;
}

/** The cache folder of a project, or undefined when DESCOPE_RUN_NO_CACHE is set. */
export function templateCacheDir(projectRoot: string, processEnv: NodeJS.ProcessEnv = process.env): string | undefined {
  const off = processEnv.DESCOPE_RUN_NO_CACHE;
  if (off !== undefined && off !== '' && off !== '0') return undefined;
  return path.join(projectRoot, 'node_modules', '.descope-run', 'templates');
}

/** The key of one compile: a SHA-256 of its inputs (JSON-serialisable). */
export function templateCacheKey(inputs: unknown): string {
  return createHash('sha256').update(FORMAT).update('\0').update(JSON.stringify(inputs)).digest('hex');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function openTemplateCache(dir: string): TemplateCache {
  const fileOf = (key: string) => path.join(dir, `${key}.js`);
  let pruned = false;
  return {
    get(key) {
      let text: string;
      try {
        text = fs.readFileSync(fileOf(key), 'utf8');
      } catch {
        return undefined;
      }
      const header = HEADER.exec(text);
      if (!header) return undefined;
      const code = text.slice(header[0].length);
      if (sha256(code) !== header[1]) return undefined;
      try {
        // Recently used: pruning keeps it.
        const now = new Date();
        fs.utimesSync(fileOf(key), now, now);
      } catch {
        // a read-only folder: the entry still serves
      }
      return code;
    },
    set(key, code) {
      const file = fileOf(key);
      const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(temp, `// sha256:${sha256(code)}\n${code}`, { mode: 0o600 });
        fs.renameSync(temp, file);
        if (!pruned) {
          pruned = true;
          prune(dir);
        }
      } catch {
        try {
          fs.rmSync(temp, { force: true });
        } catch {
          // the folder is not there or not a folder: nothing was written
        }
      }
    },
  };
}

/**
 * Keeps the MAX_ENTRIES most recently used entries and removes temporary files a killed run left (older than an
 * hour). Other processes may prune at the same time: a file gone already is fine.
 */
function prune(dir: string): void {
  const all = fs.readdirSync(dir);
  for (const name of all.filter((n) => n.endsWith('.tmp'))) {
    try {
      if (Date.now() - fs.statSync(path.join(dir, name)).mtimeMs > 3_600_000) fs.rmSync(path.join(dir, name), { force: true });
    } catch {
      // gone already
    }
  }
  const names = all.filter((name) => name.endsWith('.js'));
  if (names.length <= MAX_ENTRIES) return;
  const aged = names
    .map((name) => {
      try {
        return { name, mtime: fs.statSync(path.join(dir, name)).mtimeMs };
      } catch {
        return undefined;
      }
    })
    .filter((entry) => entry !== undefined)
    .sort((a, b) => b.mtime - a.mtime);
  for (const { name } of aged.slice(MAX_ENTRIES)) fs.rmSync(path.join(dir, name), { force: true });
}
