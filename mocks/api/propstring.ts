/**
 * A re-implementation of PVE's JSON-schema checks (pve-common JSONSchema.pm
 * `check_prop`, `parse_property_string`) for the handful of types the API
 * parameters we simulate use. Messages are PVE's, so a client sees the same
 * per-parameter `errors` as against a real node.
 */

export type PropType = 'string' | 'integer' | 'number' | 'boolean';

/** Named formats with a validator; unknown names are accepted like free strings. */
export type NamedFormat =
  | 'pve-node'
  | 'pve-vmid'
  | 'pve-configid'
  | 'pve-configid-list'
  | 'dns-name'
  | 'string-list'
  | (string & {});

export interface PropSchema {
  readonly type: PropType;
  readonly optional?: boolean;
  /** Property strings: the key a bare value belongs to. */
  readonly defaultKey?: boolean;
  /** Matched against the whole value (PVE anchors with ^…$). */
  readonly pattern?: RegExp;
  readonly enum?: readonly string[];
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly format?: NamedFormat | PropFormat;
}

export type PropFormat = Readonly<Record<string, PropSchema>>;

const CONFIG_ID = /^[a-z][a-z0-9_-]+$/i;
const NODE_NAME = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)$/;
const VMID = /^[1-9][0-9]{2,8}$/;
const DNS_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const DNS_NAME = new RegExp(`^(?:${DNS_LABEL}\\.)*${DNS_LABEL}$`);

export const isConfigId = (v: string): boolean => CONFIG_ID.test(v);
export const isNodeName = (v: string): boolean => NODE_NAME.test(v);

/** PVE::Tools::split_list */
export function splitList(value: string): string[] {
  return value.split(/[;,\0\s]+/).filter((s) => s !== '');
}

/** pve-common `parse_boolean`: 1/0, on/off, yes/no, true/false, any case. */
export function parseBoolean(value: string): 0 | 1 | undefined {
  if (/^(?:1|on|yes|true)$/i.test(value)) return 1;
  if (/^(?:0|off|no|false)$/i.test(value)) return 0;
  return undefined;
}

const isInteger = (v: string): boolean => /^[+-]?\d+$/.test(v);
const isNumber = (v: string): boolean => /^[+-]?(?:\d+\.\d+|\d+\.|\.\d+|\d+)(?:[eE][+-]?\d+)?$/.test(v);

/** Errors keyed by parameter path (`hostpci0`, `map[1]`, `machine.type`). */
export type ParamErrors = Record<string, string>;

function addError(errors: ParamErrors, path: string, msg: string): void {
  // PVE joins with '\n' in single quotes: a literal backslash-n, kept as is.
  const key = path === '' ? '_root' : path;
  errors[key] = errors[key] === undefined ? msg : `${errors[key]}\\n${msg}`;
}

/** Throws a string (PVE's `die` text) when a named format rejects the value. */
function checkNamedFormat(format: string, value: string): void {
  switch (format) {
    case 'pve-node':
      if (!NODE_NAME.test(value)) throw 'value does not look like a valid node name\n';
      return;
    case 'pve-vmid':
      if (!VMID.test(value)) throw 'value does not look like a valid VM ID\n';
      return;
    case 'pve-configid':
      if (!CONFIG_ID.test(value)) throw `invalid configuration ID '${value}'\n`;
      return;
    case 'pve-configid-list':
      for (const id of splitList(value)) if (!CONFIG_ID.test(id)) throw `invalid configuration ID '${id}'\n`;
      return;
    case 'dns-name':
      if (!DNS_NAME.test(value)) throw 'value does not look like a valid DNS name\n';
      return;
    default:
      return;
  }
}

/** check_prop for one scalar value; adds to `errors` and returns false on failure. */
export function checkValue(value: string, schema: PropSchema, path: string, errors: ParamErrors): boolean {
  switch (schema.type) {
    case 'boolean':
      if (value !== '1' && value !== '0') {
        addError(errors, path, `type check ('boolean') failed - got '${value}'`);
        return false;
      }
      break;
    case 'integer':
      if (!isInteger(value)) {
        addError(errors, path, `type check ('integer') failed - got '${value}'`);
        return false;
      }
      break;
    case 'number':
      if (!isNumber(value)) {
        addError(errors, path, `type check ('number') failed - got '${value}'`);
        return false;
      }
      break;
    case 'string':
      break;
  }
  if (schema.format !== undefined) {
    const failure = typeof schema.format === 'string'
      ? catchDie(() => checkNamedFormat(schema.format as string, value))
      : parsePropertyString(schema.format, value, path).error;
    if (failure !== undefined) {
      addError(errors, path, `invalid format - ${failure}`);
      return false;
    }
  }
  if (schema.pattern && !schema.pattern.test(value)) {
    addError(errors, path, 'value does not match the regex pattern');
    return false;
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    addError(errors, path, `value may only be ${schema.maxLength} characters long`);
    return false;
  }
  if (isNumber(value)) {
    if (schema.maximum !== undefined && Number(value) > schema.maximum) {
      addError(errors, path, `value must have a maximum value of ${schema.maximum}`);
      return false;
    }
    if (schema.minimum !== undefined && Number(value) < schema.minimum) {
      addError(errors, path, `value must have a minimum value of ${schema.minimum}`);
      return false;
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    addError(errors, path, `value '${value}' does not have a value in the enumeration '${schema.enum.join(', ')}'`);
    return false;
  }
  return true;
}

function catchDie(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (typeof e === 'string') return e;
    throw e;
  }
}

export interface ParsedPropertyString {
  /** Parsed keys (booleans normalised to 1/0 like parse_boolean); present even when invalid. */
  readonly value: Record<string, string>;
  /** The exception text PVE would raise, or undefined when valid. */
  readonly error?: string;
}

/**
 * parse_property_string: split on `,`, `key=value` or a bare value for the
 * default key, then check every key against the format. Unknown keys and
 * duplicates die at once; type/pattern errors are collected as `format error`.
 */
export function parsePropertyString(format: PropFormat, data: string, path = ''): ParsedPropertyString {
  const res: Record<string, string> = {};
  const defaultKey = Object.keys(format).find((k) => format[k]?.defaultKey);
  let defaultUsed = false;
  for (const part of data.split(',')) {
    if (/^\s*$/.test(part)) continue;
    const kv = /^([^=]+)=(.+)$/s.exec(part);
    if (kv) {
      const k = kv[1] as string;
      let v = kv[2] as string;
      if (res[k] !== undefined) return { value: res, error: `duplicate key in comma-separated list property: ${k}\n` };
      const schema = format[k];
      if (!schema) return { value: res, error: `invalid key in comma-separated list property: ${k}\n` };
      if (schema.type === 'boolean') v = String(parseBoolean(v) ?? v);
      res[k] = v;
    } else if (!part.includes('=')) {
      if (defaultKey === undefined) return { value: res, error: 'value without key, but schema does not define a default key\n' };
      if (defaultUsed || res[defaultKey] !== undefined) {
        return { value: res, error: `duplicate key in comma-separated list property: ${defaultKey}\n` };
      }
      defaultUsed = true;
      res[defaultKey] = part;
    } else {
      return { value: res, error: 'missing key in comma-separated list property\n' };
    }
  }
  const errors: ParamErrors = {};
  for (const [k, schema] of Object.entries(format)) {
    const sub = path ? `${path}.${k}` : k;
    const v = res[k];
    if (v === undefined) {
      if (!schema.optional) addError(errors, sub, 'property is missing and it is not optional');
      continue;
    }
    checkValue(v, schema, sub, errors);
  }
  if (Object.keys(errors).length > 0) {
    const lines = Object.entries(errors).map(([p, m]) => `${p}: ${m}\n`).join('');
    return { value: res, error: `format error\n${lines}` };
  }
  return { value: res };
}
