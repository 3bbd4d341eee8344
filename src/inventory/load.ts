/**
 * Reading an inventory: JSON errors with line and column, zod errors as one
 * line per problem with its JSON path and the fix. Nothing is contacted here.
 * Relative and ~ paths inside the file are resolved against the file's folder
 * and the home directory, so the result is self-contained.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { Inventory } from './schema.js';

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

/** Parse and validate inventory JSON text; `file` is used for messages and relative paths. */
export function parseInventoryText(text: string, file: string): Inventory {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const where = jsonErrorPosition(text, err as Error);
    // Node's message may quote a multi-line slice of the file (secrets included): keep only its first clause.
    const reason = (err as Error).message.replace(/ in JSON at position \d+.*$/s, '').replace(/, (?:\.\.\.)?".*$/s, '').split('\n')[0]!;
    throw new InputError(`${file}${where}: not valid JSON (${escapeControls(reason)})`, [], {
      fix: 'fix the JSON syntax at that line and column',
    });
  }
  return validateInventory(raw, file);
}

export function validateInventory(raw: unknown, file: string): Inventory {
  const result = Inventory.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => formatIssue(i));
    throw new InputError(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the inventory:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      problems,
      { fix: 'correct the fields named above (see inventory.example.json and README "Inventory")' },
    );
  }
  return resolvePaths(result.data, dirname(file));
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

/** Node 20's JSON.parse reports a position; turn it into line:column. */
export function jsonErrorPosition(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  let pos: number;
  if (m) pos = Number(m[1]);
  else if (/Unexpected end of JSON input/.test(err.message)) pos = text.length;
  else {
    // Some Node 20 messages carry no position: find the first offending character ourselves.
    const found = firstJsonError(text);
    if (found === null) return '';
    pos = found;
  }
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `:${line}:${column}`;
}

/** Offset of the first character where `text` stops being JSON (null when it parses). A plain recursive scanner. */
export function firstJsonError(text: string): number | null {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const num = (): void => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') return void i++;
        fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') return void i++;
        fail();
      }
    }
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    return num();
  };
  try {
    value();
    ws();
    return i < text.length ? i : null;
  } catch (at) {
    return typeof at === 'number' ? at : null;
  }
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
