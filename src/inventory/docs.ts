/**
 * docs/inventory.md, generated from the inventory's JSON Schema (itself
 * generated from the zod schema and its `.describe()` texts), so every field
 * is documented and a new field cannot be forgotten. `npm run gen:inventory`.
 */
type Json = Record<string, unknown>;

interface Section {
  readonly path: string;
  readonly description: string;
  readonly rows: string[];
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

export function renderInventoryDocs(schema: Json): string {
  const defs = (schema.$defs ?? {}) as Record<string, Json>;
  const sections: Section[] = [];

  const deref = (s: Json): Json => (typeof s.$ref === 'string' ? { ...defs[s.$ref.replace('#/$defs/', '')], ...s } : s);

  const typeOf = (s: Json): string => {
    if (typeof s.$ref === 'string') return s.$ref.endsWith('/SecretRef') ? '[secret reference](#secret-references)' : 'object';
    if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (Array.isArray(s.anyOf)) return (s.anyOf as Json[]).every((a) => a.type === 'object') ? 'object (one of the forms below)' : (s.anyOf as Json[]).map(typeOf).join(' | ');
    if (s.type === 'array') return `${typeOf(s.items as Json)} list`;
    if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties as Json)}`;
    if (s.type === 'integer' || (s.type === 'number' && s.const === undefined)) {
      const max = typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
      const range = s.minimum === undefined ? '' : max === undefined ? ` (≥ ${String(s.minimum)})` : ` (${String(s.minimum)}–${String(max)})`;
      return `${String(s.type)}${range}`;
    }
    return String(s.type ?? 'any');
  };

  const rowsOf = (s: Json, note = ''): string[] => {
    const props = (s.properties ?? {}) as Record<string, Json>;
    const required = new Set((s.required ?? []) as string[]);
    return Object.entries(props).map(([key, p]) => {
      const d = deref(p);
      const dflt = p.default !== undefined ? `default ${JSON.stringify(p.default)}` : required.has(key) ? (note || 'required') : 'optional';
      return `| \`${key}\` | ${cell(typeOf(p))} | ${cell(dflt)} | ${cell(String(p.description ?? d.description ?? ''))} |`;
    });
  };

  const walk = (path: string, raw: Json): void => {
    if (typeof raw.$ref === 'string') return; // shared definitions get one section of their own
    const s = raw;
    if (s.type === 'array') return walk(`${path}[]`, s.items as Json);
    if (Array.isArray(s.anyOf)) {
      const forms = (s.anyOf as Json[]).filter((a) => a.type === 'object');
      if (forms.length === 0) return;
      sections.push({ path, description: `${String(s.description ?? '')} Exactly one of these keys:`, rows: forms.flatMap((f) => rowsOf(f, 'one of')) });
      for (const f of forms) for (const [k, p] of Object.entries((f.properties ?? {}) as Record<string, Json>)) walk(join(path, k), p);
      return;
    }
    if (s.type !== 'object') return;
    if (s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) return;
    sections.push({ path, description: String(s.description ?? ''), rows: rowsOf(s) });
    for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, Json>)) walk(join(path, k), p);
  };

  walk('', schema);
  for (const [name, def] of Object.entries(defs)) {
    sections.push({ path: name === 'SecretRef' ? 'Secret references' : name, description: String(def.description ?? ''), rows: rowsOf(def) });
  }

  const out = [
    '# Inventory reference',
    '',
    '<!-- Generated from src/inventory/schema.ts by `npm run gen:inventory`; do not edit by hand (a test checks it is current). -->',
    '',
    String(schema.description ?? ''),
    '',
    'Editors complete and check it with [inventory.schema.json](../inventory.schema.json) (`"$schema": "./inventory.schema.json"`).',
    'A file ending in `.yaml` or `.yml` is read as YAML; any other as JSON, where `//` and `/* */` comments are allowed.',
    'Syntax errors name the line and column; every other problem names its path (e.g. `clusters[0].nodes[1].devices[0].address`) and the fix.',
    '',
  ];
  for (const s of sections) {
    out.push(`## ${s.path === '' ? 'Top level' : s.path === 'Secret references' ? s.path : `\`${s.path}\``}`, '');
    if (s.description) out.push(s.description.trim(), '');
    out.push('| field | type | default | description |', '|---|---|---|---|', ...s.rows, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
