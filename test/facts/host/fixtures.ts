/** Loads the data-driven fixtures under test/fixtures/facts/<fact>/<case>.txt (+ <case>.json). */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/facts');

export interface FixtureCase<E> {
  readonly name: string;
  readonly input: string;
  readonly expected: E;
}

export function cases<E>(fact: string): FixtureCase<E>[] {
  const dir = join(FIXTURES, fact);
  const names = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  if (names.length === 0) throw new Error(`no fixtures in ${dir}`);
  return names.map((f) => {
    const name = f.slice(0, -4);
    return {
      name,
      input: readFileSync(join(dir, f), 'utf8'),
      expected: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as E,
    };
  });
}

/** Splits `==> name <==` headed parts (like `tail` prints several files) into name -> content. */
export function parts(input: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | null = null;
  let lines: string[] = [];
  const flush = (): void => {
    if (current !== null) out.set(current, lines.length ? `${lines.join('\n')}\n` : '');
  };
  for (const line of input.replace(/\n$/, '').split('\n')) {
    const h = /^==> (.+) <==$/.exec(line);
    if (h?.[1]) {
      flush();
      current = h[1];
      lines = [];
    } else if (current !== null) {
      lines.push(line);
    }
  }
  flush();
  return out;
}

/** Every expected substring must appear in some error, and every error must contain one of them. */
export function expectErrors(errors: readonly string[], wanted: readonly string[]): string | null {
  for (const w of wanted) if (!errors.some((e) => e.includes(w))) return `missing error containing ${JSON.stringify(w)} in ${JSON.stringify(errors)}`;
  const extra = errors.filter((e) => !wanted.some((w) => e.includes(w)));
  return extra.length > 0 ? `unexpected errors ${JSON.stringify(extra)}` : null;
}
