// The closed error catalogue (issue 17, item 3): every code raised in src/ is declared once, in
// src/error-codes.ts, and every error class is one of the layers' classes, exported by the library.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
import { ERROR_CATALOGUE, ErrorCode, isErrorCode, type CodeOf } from '../../src/error-codes.js';
import { ApiError, InputError, PassthroughError, RunError, SafetyError, SshError } from '../../src/errors.js';

const root = join(import.meta.dirname, '../..');
const CATALOGUE_FILE = 'src/error-codes.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}
const files = sources(join(root, 'src'));
const text = new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')]));

describe('error catalogue', () => {
  it('reads the source tree (the checks below would pass on nothing)', () => {
    expect(files).toContain(CATALOGUE_FILE);
    expect(files.length).toBeGreaterThan(50);
  });

  it('no code string is written in src/ outside the catalogue', () => {
    const found: string[] = [];
    for (const [f, src] of text) {
      if (f === CATALOGUE_FILE) continue;
      for (const m of src.matchAll(/['"`]E_[A-Z][A-Z0-9_]*['"`]/g)) found.push(`${f}: ${m[0]}`);
    }
    expect(found).toEqual([]);
  });

  it('every declared code is raised somewhere in src/, and every constant used is declared', () => {
    const used = new Set<string>();
    for (const [f, src] of text) {
      if (f === CATALOGUE_FILE) continue;
      for (const m of src.matchAll(/\bErrorCode\.([A-Z][A-Z0-9_]*)\b/g)) used.add(`E_${m[1]}`);
    }
    const declared = Object.keys(ERROR_CATALOGUE);
    expect(declared.filter((c) => !used.has(c))).toEqual([]);
    expect([...used].filter((c) => !isErrorCode(c))).toEqual([]);
  });

  it('each constant is its own code, and each code has a layer, a meaning and a fix of one line', () => {
    for (const [code, info] of Object.entries(ERROR_CATALOGUE)) {
      expect((ErrorCode as Record<string, string>)[code.slice(2)]).toBe(code);
      expect(info.meaning).toMatch(/^[A-Z].{10,}\.$/);
      expect(info.fix).toMatch(/^[A-Z].{5,}\.$/);
      expect(`${info.meaning}${info.fix}`).not.toContain('\n');
    }
  });

  it('no error class in src/ extends plain Error except the base, and every one is exported by the library', () => {
    const classes: { name: string; base: string; file: string }[] = [];
    for (const [f, src] of text) {
      for (const m of src.matchAll(/class (\w+) extends (\w+)/g)) if (/Error$/.test(m[2]!)) classes.push({ name: m[1]!, base: m[2]!, file: f });
    }
    expect(classes.filter((c) => c.base === 'Error').map((c) => c.name)).toEqual(['PassthroughError']);
    const exported = lib as unknown as Record<string, unknown>;
    const missing = classes.filter((c) => typeof exported[c.name] !== 'function').map((c) => `${c.name} (${c.file})`);
    expect(missing).toEqual([]);
    for (const c of classes) expect((exported[c.name] as { prototype: unknown }).prototype).toBeInstanceOf(c.name === 'PassthroughError' ? Error : PassthroughError);
  });

  it('a class takes only its own layer\'s codes (checked by tsc)', () => {
    const input: CodeOf<'input'> = ErrorCode.INPUT;
    // @ts-expect-error E_INPUT is not an API code: bad input is an InputError
    new ApiError(ErrorCode.INPUT, 'x', null);
    // @ts-expect-error a safety gate does not raise SSH codes
    new SafetyError(ErrorCode.SSH_CONNECT, 'x');
    // @ts-expect-error nor does the run raise API codes
    new RunError(ErrorCode.API_AUTH, 'x');
    // @ts-expect-error the code is a closed set, not any string
    new SshError('E_SOMETHING', 'x');
    expect(new InputError('bad').code).toBe(input);
  });

  it('README and docs/ name only declared codes', () => {
    const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const unknown: string[] = [];
    for (const f of docs) for (const m of readFileSync(join(root, f), 'utf8').matchAll(/\bE_[A-Z][A-Z0-9_]+\b/g)) if (!isErrorCode(m[0])) unknown.push(`${f}: ${m[0]}`);
    expect(docs.length).toBeGreaterThan(3);
    expect(unknown).toEqual([]);
  });

  it('a library caller switches on the code of any error the library raises', () => {
    const e: unknown = new lib.ApiError(lib.ErrorCode.API_AUTH, 'POST /access/ticket: authentication failed', 401);
    expect(e instanceof lib.PassthroughError && lib.isErrorCode(e.code) && ERROR_CATALOGUE[e.code].layer).toBe('api');
    expect(lib.isErrorCode('E_NOPE')).toBe(false);
  });
});
