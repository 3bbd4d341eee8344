/**
 * Bad and hostile inventories are rejected before anything is contacted,
 * with one clear message naming every bad field (or the JSON line/column).
 * Complements test/inventory/load.test.ts (single-problem fixtures) with
 * wrong types, hostile values and several problems at once, run through the
 * real CLI against a listener that counts connection attempts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parseInventoryText } from '../../src/inventory/load.js';
import { runCli } from './cli.js';

const DIR = join(import.meta.dirname, '../fixtures/hostile/inventory');
const EXPECT = JSON.parse(readFileSync(join(DIR, 'expectations.json'), 'utf8')) as Record<string, string[]>;

describe('bad inventories: rejected before anything is contacted', () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  let home: string;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'pvpt-badinv-'));
    server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(home, { recursive: true, force: true });
  });

  const fixture = (name: string) => readFileSync(join(DIR, name), 'utf8').replaceAll('65001', String(port));

  it.each(Object.entries(EXPECT))('%s names every problem', (name, paths) => {
    let err: unknown;
    try {
      parseInventoryText(fixture(name), join(DIR, name));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const e = err as InputError;
    for (const p of paths) expect([e.message, ...e.problems].some((l) => l.includes(p)), `${p} in:\n${e.message}`).toBe(true);
    expect(e.context.fix).toBeTruthy();
    // Hostile values are never echoed raw: no line breaks or escapes inside one problem.
    for (const line of e.problems) expect(line).not.toMatch(/[\n\r\0\u001b]/);
  });

  it.each(Object.keys(EXPECT))('the CLI stops at %s with exit 1 and one error, contacting nothing', async (name) => {
    const file = join(home, name);
    writeFileSync(file, fixture(name));
    const r = await runCli(['plan', '-i', file], { home });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.match(/^error: /gm)).toHaveLength(1);
    expect(r.stderr).toContain(name);
    expect(r.stderr).toMatch(/fix: /);
    expect(connections).toBe(0);
    // A JSON error names line and column and does not quote the file (which may hold secrets).
    if (name.startsWith('malformed')) expect(r.stderr).toMatch(/malformed-trailing-comma\.json:4:\d+: not valid JSON \(trailing comma\)/);
    if (name.startsWith('malformed')) expect(r.stderr).not.toContain('"name"');
  });
});
