/**
 * Request parameters the way pveproxy reads them: form bodies and query
 * strings split on both `&` and `;` (so a literal `;` must be `%3B`),
 * repeated fields become arrays, JSON bodies are accepted too, and the query
 * string overrides the body.
 */
import type { RawParams } from './schema.js';

function decode(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

function add(out: RawParams, key: string, value: string): void {
  const prev = out[key];
  if (prev === undefined) out[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[key] = [prev, value];
}

/** `a=1&b=2;c=3` → { a: '1', b: '2', c: '3' } */
export function parseUrlEncoded(text: string): RawParams {
  const out: RawParams = {};
  for (const field of text.split(/[&;]/)) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = decode(eq < 0 ? field : field.slice(0, eq));
    const value = eq < 0 ? '' : decode(field.slice(eq + 1));
    add(out, key, value);
  }
  return out;
}

function jsonScalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  return undefined;
}

/** A JSON object body: numbers become strings, booleans 1/0, arrays stay arrays. */
export function parseJsonBody(text: string): RawParams {
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('JSON body must be an object');
  const out: RawParams = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) {
      out[k] = v.map((item) => jsonScalar(item) ?? JSON.stringify(item));
    } else if (v !== null && v !== undefined) {
      out[k] = jsonScalar(v) ?? JSON.stringify(v);
    }
  }
  return out;
}

export function parseBody(contentType: string | null, text: string): RawParams {
  if (text.trim() === '') return {};
  if (contentType !== null && /application\/json/i.test(contentType)) return parseJsonBody(text);
  return parseUrlEncoded(text);
}

export class ConflictingUriParam extends Error {}

/**
 * Body (POST/PUT only), then query, then the URI's own parameters; a body or
 * query value that conflicts with the URI is PVE's 400.
 */
export function mergeParams(method: string, body: RawParams, query: RawParams, uri: Readonly<Record<string, string>>): RawParams {
  const merged: RawParams = method === 'POST' || method === 'PUT' ? { ...body } : {};
  Object.assign(merged, query);
  for (const [k, v] of Object.entries(uri)) {
    const given = merged[k];
    if (given !== undefined && given !== v) throw new ConflictingUriParam(k);
    merged[k] = v;
  }
  return merged;
}
