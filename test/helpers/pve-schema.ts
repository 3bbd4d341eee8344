/**
 * Checks a request against the PVE API schema extract (test/fixtures/pve-schema/endpoints.json):
 * the method exists at that path, every parameter is known, and values match
 * type, pattern, enum and limits. Format-named properties (pve-qm-hostpci, …)
 * are checked with our own parsers; inline property-string formats key by key.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseHostpci } from '../../src/formats/hostpci.js';
import { CONFIG_ID, NODE_NAME } from '../../src/patterns.js';

export interface SchemaProp {
  readonly type?: string;
  readonly optional?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly format?: string | Readonly<Record<string, SchemaProp>>;
  readonly typetext?: string;
  readonly maxLength?: number;
  readonly minLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly items?: SchemaProp;
}
export interface SchemaEndpoint {
  readonly method: string;
  readonly path: string;
  readonly parameters: Readonly<Record<string, SchemaProp>>;
}

const file = fileURLToPath(new URL('../fixtures/pve-schema/endpoints.json', import.meta.url));
export const endpoints: readonly SchemaEndpoint[] = (JSON.parse(readFileSync(file, 'utf8')) as { endpoints: SchemaEndpoint[] }).endpoints;

/**
 * Perl → JS: `(?^:x)` is a non-capturing group with default flags, `(?^i:x)` the
 * same case-insensitive (JS has no inline flags in Node 20, so `i` applies to the
 * whole pattern). PVE anchors every pattern: `^(?:p)$`.
 */
export function schemaRegExp(perl: string): RegExp {
  const insensitive = perl.includes('(?^i:');
  const js = perl.replace(/\(\?\^i?:/g, '(?:');
  return new RegExp(`^(?:${js})$`, insensitive ? 'i' : '');
}

export function findEndpoint(method: string, path: string): { endpoint: SchemaEndpoint; pathParams: Record<string, string> } | undefined {
  const segs = path.split('/');
  for (const endpoint of endpoints) {
    if (endpoint.method !== method) continue;
    const tpl = endpoint.path.split('/');
    if (tpl.length !== segs.length) continue;
    const pathParams: Record<string, string> = {};
    let ok = true;
    tpl.forEach((t, i) => {
      const s = segs[i] ?? '';
      const m = /^\{(.+)\}$/.exec(t);
      if (m) {
        if (s === '') ok = false;
        else pathParams[m[1] as string] = decodeURIComponent(s);
      } else if (t !== s) ok = false;
    });
    if (ok) return { endpoint, pathParams };
  }
  return undefined;
}

/** How many `name[n]` keys exist (the extract does not say; qemu-server does). */
const N_LIMITS: Readonly<Record<string, number>> = { hostpci: 16, usb: 14, net: 32, unused: 256 };

/** `hostpci3` → `hostpci[n]` when the schema has it and n is in range. */
function schemaName(params: Readonly<Record<string, SchemaProp>>, name: string): string | undefined {
  if (params[name]) return name;
  const m = /^([a-z_-]+?)(0|[1-9]\d*)$/i.exec(name);
  if (!m || !params[`${m[1]}[n]`]) return undefined;
  const limit = N_LIMITS[m[1] as string];
  return limit === undefined || Number(m[2]) < limit ? `${m[1]}[n]` : undefined;
}

function defaultKey(typetext: string | undefined): string | undefined {
  return /^\[\[([a-z][a-z0-9-]*)=\]/.exec(typetext ?? '')?.[1];
}

function checkScalar(name: string, prop: SchemaProp, value: string): string[] {
  const problems: string[] = [];
  const type = prop.type ?? 'string';
  if (type === 'boolean') {
    if (!/^(?:0|1)$/.test(value)) problems.push(`${name}: boolean must be sent as 1 or 0, got ${JSON.stringify(value)}`);
    return problems;
  }
  if (type === 'integer' || type === 'number') {
    const re = type === 'integer' ? /^-?\d+$/ : /^-?\d+(?:\.\d+)?$/;
    if (!re.test(value)) return [`${name}: expected ${type}, got ${JSON.stringify(value)}`];
    const n = Number(value);
    if (prop.minimum !== undefined && n < prop.minimum) problems.push(`${name}: ${n} < minimum ${prop.minimum}`);
    if (prop.maximum !== undefined && n > prop.maximum) problems.push(`${name}: ${n} > maximum ${prop.maximum}`);
    return problems;
  }
  if (prop.maxLength !== undefined && value.length > prop.maxLength) problems.push(`${name}: longer than ${prop.maxLength}`);
  if (prop.minLength !== undefined && value.length < prop.minLength) problems.push(`${name}: shorter than ${prop.minLength}`);
  if (prop.enum && !prop.enum.includes(value)) problems.push(`${name}: ${JSON.stringify(value)} not in ${prop.enum.join('|')}`);
  if (prop.pattern && !schemaRegExp(prop.pattern).test(value)) problems.push(`${name}: ${JSON.stringify(value)} does not match ${prop.pattern}`);
  const f = prop.format;
  if (typeof f === 'string') problems.push(...checkNamedFormat(name, f, value));
  else if (f) problems.push(...checkPropertyString(name, f, defaultKey(prop.typetext), value));
  return problems;
}

function checkNamedFormat(name: string, format: string, value: string): string[] {
  try {
    switch (format) {
      case 'pve-qm-hostpci':
        parseHostpci(value);
        return [];
      case 'pve-node':
        return NODE_NAME.test(value) ? [] : [`${name}: ${JSON.stringify(value)} is not a node name`];
      case 'pve-configid':
        return CONFIG_ID.test(value) ? [] : [`${name}: ${JSON.stringify(value)} is not a config id`];
      case 'pve-configid-list':
        return value.split(/[,;\s]+/).filter((v) => !/^[a-z][a-z0-9_-]+$/i.test(v)).map((v) => `${name}: ${JSON.stringify(v)} is not a config key`);
      default:
        return []; // formats we never send are not checked here
    }
  } catch (e) {
    return [`${name}: ${(e as Error).message}`];
  }
}

export function checkPropertyString(name: string, format: Readonly<Record<string, SchemaProp>>, dflt: string | undefined, value: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = eq === -1 ? dflt : part.slice(0, eq);
    const v = eq === -1 ? part : part.slice(eq + 1);
    if (key === undefined) {
      problems.push(`${name}: bare value ${JSON.stringify(part)} but the format has no default key`);
      continue;
    }
    const sub = format[key];
    if (!sub) {
      problems.push(`${name}: unknown sub-option ${JSON.stringify(key)}`);
      continue;
    }
    if (seen.has(key)) problems.push(`${name}: sub-option ${key} twice`);
    seen.add(key);
    if (sub.type === 'boolean') {
      if (!/^(?:1|0|on|off|yes|no|true|false)$/i.test(v)) problems.push(`${name}.${key}: not a boolean: ${JSON.stringify(v)}`);
    } else problems.push(...checkScalar(`${name}.${key}`, sub, v));
  }
  for (const [key, sub] of Object.entries(format)) {
    if (sub.optional !== 1 && sub.type !== undefined && !seen.has(key)) problems.push(`${name}: required sub-option ${key} missing`);
  }
  return problems;
}

/** Every problem with one request; [] when the schema accepts it. */
export function checkRequest(method: string, path: string, params: Readonly<Record<string, string | readonly string[]>>): string[] {
  const found = findEndpoint(method, path);
  if (!found) return [`${method} ${path}: no such endpoint in the schema`];
  const { endpoint, pathParams } = found;
  const problems: string[] = [];
  const all: Record<string, string | readonly string[]> = { ...params, ...pathParams };
  for (const [name, value] of Object.entries(all)) {
    const key = schemaName(endpoint.parameters, name);
    if (!key) {
      problems.push(`${method} ${endpoint.path}: unknown parameter ${JSON.stringify(name)}`);
      continue;
    }
    const prop = endpoint.parameters[key] as SchemaProp;
    if (prop.type === 'array') {
      const items = Array.isArray(value) ? value : [value as string];
      for (const item of items) problems.push(...checkScalar(name, prop.items ?? {}, item));
    } else if (Array.isArray(value)) {
      problems.push(`${name}: sent ${value.length} times but it is not an array`);
    } else problems.push(...checkScalar(name, prop, value as string));
  }
  for (const [name, prop] of Object.entries(endpoint.parameters)) {
    if (prop.optional !== 1 && !name.includes('[n]') && all[name] === undefined) problems.push(`${method} ${endpoint.path}: required parameter ${name} missing`);
  }
  return problems;
}

/** Group form/query fields by name; repeated names become arrays. */
export function paramsFrom(search: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of search) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}
