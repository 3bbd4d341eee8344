/**
 * Reading an inventory: JSON (with comments) or YAML, syntax errors with line and column, zod errors as one
 * line per problem with its JSON path and the fix. Nothing is contacted here.
 * Relative and ~ paths inside the file are resolved against the file's folder
 * and the home directory, so the result is self-contained.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { Defaults, Inventory } from './schema.js';

export interface LoadedInventory {
  readonly inventory: Inventory;
  /** Absolute path of the file, or `<flags>` for an inventory built from flags. */
  readonly source: string;
}

export async function loadInventory(path: string): Promise<LoadedInventory> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read inventory ${path}: ${code === 'ENOENT' ? 'no such file' : String(code ?? err)}`, [], {
      fix: 'pass -i <inventory.json>; see inventory.example.json',
    });
  }
  const abs = resolve(path);
  return { inventory: parseInventoryText(text, abs), source: abs };
}

/**
 * Parse and validate inventory text; `file` is used for messages and relative
 * paths, and its extension picks the syntax: .yaml/.yml is YAML, anything else
 * JSON with // and block comments (no trailing commas, as in JSON).
 */
export function parseInventoryText(text: string, file: string): Inventory {
  const raw = /\.ya?ml$/i.test(file) ? parseYamlText(text, file) : parseJsonText(text, file);
  return validateInventory(raw, file);
}

function parseJsonText(text: string, file: string): unknown {
  const errors: ParseError[] = [];
  const raw: unknown = parseJsonc(text, errors, { allowTrailingComma: false, disallowComments: false, allowEmptyContent: false });
  const first = errors[0];
  if (first === undefined) return raw;
  const { line, column } = lineColumn(text, first.offset);
  const words = printParseErrorCode(first.error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const trailingComma = /,\s*$/.test(text.slice(0, first.offset).replace(/\/\/[^\n]*$/gm, '')) && /^[\]}]/.test(text.slice(first.offset));
  throw new InputError(`${file}:${line}:${column}: not valid JSON (${trailingComma ? 'trailing comma' : words})`, [], {
    fix: 'fix the JSON syntax at that line and column (comments are allowed; trailing commas are not)',
  });
}

function parseYamlText(text: string, file: string): unknown {
  // uniqueKeys: a repeated key is an error, not a silent override. Aliases stay bounded (maxAliasCount default 100).
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first === undefined) return doc.toJS();
  const { line, column } = lineColumn(text, first.pos[0]);
  // The parser's message may quote the file (secrets included): keep its first line, without the excerpt.
  const reason = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  throw new InputError(`${file}:${line}:${column}: not valid YAML (${escapeControls(reason)})`, [], { fix: 'fix the YAML syntax at that line and column' });
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

export function validateInventory(raw: unknown, file: string): Inventory {
  return resolvePaths(checkInventory(raw, file), dirname(file));
}

/**
 * The schema check alone, for an inventory that did not come from a file: the
 * library's entry points (plan, apply, verify, devices, rollback) run it on the
 * inventory they are given, so a caller who builds one in code gets the same
 * refusal, naming each field, as a CLI user. An inventory that already passed
 * gives back the same value (test/safety/library-guards.test.ts).
 */
export function checkInventory(raw: unknown, label = 'inventory'): Inventory {
  const result = Inventory.safeParse(withClusterDefaults(raw));
  if (!result.success) {
    const problems = result.error.issues.map((i) => formatIssue(i));
    throw new InputError(
      `${label}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the inventory:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      problems,
      { fix: 'correct the fields named above (see inventory.example.json and README "Inventory")' },
    );
  }
  return result.data;
}

/**
 * Cluster `defaults` folded into each node before validation, so a node's own
 * value wins and every later step sees plain nodes. Invalid defaults are left
 * for the schema to report at their own path (never copied into the nodes).
 */
function withClusterDefaults(raw: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(raw) || !Array.isArray(raw.clusters)) return raw;
  return {
    ...raw,
    clusters: raw.clusters.map((c: unknown) => {
      if (!isObject(c) || !Array.isArray(c.nodes)) return c;
      if (c.defaults === undefined || !Defaults.safeParse(c.defaults).success) return c;
      // The raw object, not the parsed one: only what the user wrote is merged (no schema defaults).
      const { ssh = {}, kernelParams, iommuPassthrough, softdep } = c.defaults as Defaults;
      return {
        ...c,
        nodes: c.nodes.map((n: unknown) => {
          if (!isObject(n)) return n;
          return {
            ...(kernelParams !== undefined ? { kernelParams } : {}),
            ...(iommuPassthrough !== undefined ? { iommuPassthrough } : {}),
            ...n,
            ...(isObject(n.ssh) ? { ssh: { ...ssh, ...n.ssh } } : {}),
            ...(softdep !== undefined && Array.isArray(n.devices)
              ? { devices: n.devices.map((dev: unknown) => (isObject(dev) && dev.softdep === undefined ? { ...dev, softdep } : dev)) }
              : {}),
          };
        }),
      };
    }),
  };
}

/** `clusters[0].nodes[1].devices[0].address: expected … (got "01:00.0")` */
export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') {
    msg = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: remove ${issue.keys.length > 1 ? 'them' : 'it'} or check the spelling`;
  } else if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    msg = `missing: ${issue.message.replace(/, received undefined/, '')}`;
  } else if (issue.code === 'invalid_union') {
    msg = `${issue.message}: expected one of the documented shapes (see inventory.example.json)`;
  }
  const input = (issue as { input?: unknown }).input;
  const got = input !== undefined && typeof input !== 'object' ? ` (got ${JSON.stringify(input).slice(0, 60)})` : '';
  return `${path || '(top level)'}: ${escapeControls(msg)}${escapeControls(got)}`;
}

/** Inventory values echoed in messages must not drive the terminal (escape sequences, NUL, line breaks). */
function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function expandPath(p: string, baseDir: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

function resolvePaths(inv: Inventory, baseDir: string): Inventory {
  const secret = <T extends { file?: string | undefined }>(s: T | undefined): T | undefined =>
    s && s.file ? { ...s, file: expandPath(s.file, baseDir) } : s;
  return {
    ...inv,
    clusters: inv.clusters.map((c) => ({
      ...c,
      api: c.api && {
        ...c.api,
        tls: 'ca' in c.api.tls ? { ca: expandPath(c.api.tls.ca, baseDir) } : c.api.tls,
        auth: 'token' in c.api.auth
          ? { token: { ...c.api.auth.token, secret: secret(c.api.auth.token.secret)! } }
          : { ticket: { ...c.api.auth.ticket, password: secret(c.api.auth.ticket.password)!, totp: secret(c.api.auth.ticket.totp) } },
        rootTicket: c.api.rootTicket && { password: secret(c.api.rootTicket.password)!, totp: secret(c.api.rootTicket.totp) },
      },
      nodes: c.nodes.map((n) => ({
        ...n,
        ssh: {
          ...n.ssh,
          identityFile: n.ssh.identityFile && expandPath(n.ssh.identityFile, baseDir),
          passphrase: secret(n.ssh.passphrase),
          hostKey: n.ssh.hostKey && 'knownHosts' in n.ssh.hostKey ? { knownHosts: expandPath(n.ssh.hostKey.knownHosts, baseDir) } : n.ssh.hostKey,
        },
      })),
    })),
  };
}
