/**
 * The modprobe.d model (src/facts/host/modprobe-d.ts) over fixture files:
 * test/fixtures/facts/modprobe (one file per case) and
 * test/fixtures/facts/modprobe-d (several directories per case, `==> path <==`).
 * `modprobeC` is what `modprobe -c` prints for these directives; the same
 * fixtures go through real kmod in modprobe-d-kmod.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { installOf, modprobeFileOrder, parseModprobeConfig, renderModprobeC, softdepOf, vfioPciIds } from '../../../src/facts/host/modprobe-d.js';
import { cases, expectErrors, parts } from './fixtures.js';

type Single = { modprobeC: string[]; vfioIds: string[]; errors: string[] };
type Multi = Single & { dirs: string[]; files: string[]; softdep: Record<string, string[] | null>; install: Record<string, string | null> };

describe('modprobe.d: one file', () => {
  it.each(cases<Single>('modprobe'))('$name', ({ name, input, expected }) => {
    const r = parseModprobeConfig([{ path: `/etc/modprobe.d/${name}.conf`, content: input }]);
    const ids = vfioPciIds(r.value);
    expect(expectErrors([...r.errors, ...ids.errors], expected.errors)).toBeNull();
    expect(renderModprobeC(r.value)).toEqual(expected.modprobeC);
    expect(ids.value.ids).toEqual(expected.vfioIds);
  });
});

describe('modprobe.d: every directory, as kmod reads them', () => {
  it.each(cases<Multi>('modprobe-d'))('$name', ({ input, expected }) => {
    const files = parts(input);
    const order = modprobeFileOrder(files.keys());
    expect(order).toEqual(expected.files);
    const r = parseModprobeConfig(order.map((path) => ({ path, content: files.get(path) ?? '' })));
    const ids = vfioPciIds(r.value);
    expect(expectErrors([...r.errors, ...ids.errors], expected.errors)).toBeNull();
    expect(renderModprobeC(r.value)).toEqual(expected.modprobeC);
    expect(ids.value.ids).toEqual(expected.vfioIds);
    for (const [mod, pre] of Object.entries(expected.softdep)) expect(softdepOf(r.value, mod)?.pre ?? null, `softdep ${mod}`).toEqual(pre);
    for (const [mod, command] of Object.entries(expected.install)) expect(installOf(r.value, mod)?.command ?? null, `install ${mod}`).toEqual(command);
  });

  it('errors name the file and the first physical line of a continued line', () => {
    const r = parseModprobeConfig([{ path: '/etc/modprobe.d/x.conf', content: 'blacklist a\nfrob \\\n  nicate\n' }]);
    expect(r.errors).toEqual(['/etc/modprobe.d/x.conf:2: kmod ignores this line (unknown directive "frob"): "frob   nicate"']);
  });
});
