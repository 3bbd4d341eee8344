/**
 * PVE property strings (`default,key=value,key=value`), as pve-common's
 * parse_property_string reads them: split on `,`, then on the first `=`; a part
 * without `=` is the value of the default key. Values cannot contain `,`.
 */
import { FormatError, show } from './errors.js';

export interface PropertyPart {
  /** null for a bare value (the default key). */
  readonly key: string | null;
  readonly value: string;
}

// A config file is line based: a control character in a value would forge lines.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function splitPropertyString(format: string, text: string): PropertyPart[] {
  if (text.length === 0) throw new FormatError(format, 'empty value');
  if (CONTROL.test(text)) throw new FormatError(format, `control character in ${show(text)}`);
  return text.split(',').map((part) => {
    if (part.length === 0) throw new FormatError(format, `empty part in ${show(text)} (stray comma?)`);
    const eq = part.indexOf('=');
    if (eq === -1) return { key: null, value: part };
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (key.length === 0) throw new FormatError(format, `part ${show(part)} has no key before "="`);
    if (value.length === 0) throw new FormatError(format, `"${key}" has an empty value`);
    return { key, value };
  });
}

/**
 * Resolve bare parts to the default key and reject unknown or repeated keys.
 * Returns the key/value pairs in the order written.
 */
export function propertyMap(
  format: string,
  text: string,
  /** '' when the format has no default key. */
  defaultKey: string,
  known: ReadonlySet<string>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of splitPropertyString(format, text)) {
    if (part.key === null && defaultKey === '') throw new FormatError(format, `bare value ${show(part.value)} without a key`);
    const key = part.key ?? defaultKey;
    if (!known.has(key)) throw new FormatError(format, `unknown key ${show(key)}`);
    if (out.has(key)) {
      throw new FormatError(format, part.key === null ? `second bare value ${show(part.value)} (the default key "${defaultKey}" is already set)` : `key "${key}" is given twice`);
    }
    out.set(key, part.value);
  }
  return out;
}

/** pve-common parse_boolean: 1/on/yes/true and 0/off/no/false, any case. */
export function parseBool(format: string, key: string, value: string): boolean {
  if (/^(?:1|on|yes|true)$/i.test(value)) return true;
  if (/^(?:0|off|no|false)$/i.test(value)) return false;
  throw new FormatError(format, `"${key}" must be a boolean (1/0, on/off, yes/no, true/false), got ${show(value)}`);
}

/** A value safe to put inside a property string: no `,`, no control characters, not empty. */
export function assertPlainValue(format: string, key: string, value: string, extra?: RegExp): void {
  if (value.length === 0) throw new FormatError(format, `"${key}" is empty`);
  if (CONTROL.test(value) || value.includes(',')) throw new FormatError(format, `"${key}" may not contain "," or control characters: ${show(value)}`);
  if (extra && !extra.test(value)) throw new FormatError(format, `"${key}" has an invalid value ${show(value)}`);
}
