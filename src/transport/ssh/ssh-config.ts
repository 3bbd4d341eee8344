/**
 * OpenSSH client configuration (ssh_config(5)), the part this tool honours.
 * The file format is read by the `ssh-config` npm package; what the lines
 * *mean* for one host (first value wins, Host/Match sections, Include inside
 * sections, `Match final`, %-tokens) is evaluated here, because that package
 * neither follows Include nor can be kept from running `Match exec` commands
 * on every lookup. Pure: files are read by ssh-config-load.ts.
 */
import { parse, LineType, type Line } from 'ssh-config';
import { wildcardMatch } from './known-hosts.js';

export type ConfigEntry =
  | { readonly kind: 'option'; readonly key: string; readonly args: readonly string[] }
  | { readonly kind: 'host' | 'match'; readonly args: readonly string[]; readonly body: readonly ConfigEntry[] }
  /** Include: `files` is filled by the loader (matched files in order), empty when nothing matched. */
  | { readonly kind: 'include'; readonly patterns: readonly string[]; readonly files: ConfigFile[] };

export interface ConfigFile {
  readonly path: string;
  readonly entries: readonly ConfigEntry[];
}

/** The files OpenSSH would read, in precedence order (user file before the system one; or the single `-F` file). */
export interface SshConfig {
  readonly files: readonly ConfigFile[];
}

type IncludeEntry = Extract<ConfigEntry, { kind: 'include' }>;

function argsOf(value: string | readonly { readonly val: string }[]): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  return value.map((v) => v.val);
}

function toEntry(line: Line): ConfigEntry | undefined {
  if (line.type !== LineType.DIRECTIVE) return undefined;
  const key = line.param.toLowerCase();
  const args = argsOf(line.value);
  if ('config' in line) {
    return { kind: key === 'match' ? 'match' : 'host', args, body: [...line.config].map(toEntry).filter((e): e is ConfigEntry => e !== undefined) };
  }
  if (key === 'include') return { kind: 'include', patterns: args, files: [] };
  return { kind: 'option', key, args };
}

/** Parses one file's text; Include entries come back with no files (the loader fills them). */
export function parseSshConfig(text: string): ConfigEntry[] {
  return [...parse(text)].map(toEntry).filter((e): e is ConfigEntry => e !== undefined);
}

/** Every Include in the entries (top level and inside sections), for the loader to fill. */
export function includesOf(entries: readonly ConfigEntry[]): IncludeEntry[] {
  return entries.flatMap((e) => (e.kind === 'include' ? [e] : e.kind === 'option' ? [] : includesOf(e.body)));
}

export interface HostQuery {
  /** The name as the operator wrote it (inventory `ssh.host`, or a ProxyJump hop). */
  readonly host: string;
  /** The remote user when already decided (inventory or `user@` in ProxyJump): `Match user` sees it, `User` cannot override it. */
  readonly user?: string;
  readonly localUser: string;
}

export interface RawHostConfig {
  /** lowercase keyword -> arguments of the first line that set it (IdentityFile/CertificateFile: every line, in order). */
  readonly options: ReadonlyMap<string, readonly string[]>;
  /** Whether any Host or Match section applied (beyond catch-alls such as `Host *`). */
  readonly matchedSpecific: boolean;
  /** Things skipped on purpose (Match exec, unknown criteria), for warnings. */
  readonly notes: readonly string[];
}

const ACCUMULATE = new Set(['identityfile', 'certificatefile', 'localforward', 'remoteforward', 'dynamicforward', 'sendenv', 'setenv']);

/** `*`/`?` match, case-insensitive for host names (the one matcher shared with known_hosts). */
export const patternMatch = wildcardMatch;

/** ssh_config pattern lists: comma- or space-separated, `!` negates and wins. */
export function patternListMatch(text: string, patterns: readonly string[]): boolean {
  let positive = false;
  for (const p of patterns.flatMap((a) => a.split(',')).filter((p) => p !== '')) {
    if (p.startsWith('!')) {
      if (patternMatch(text, p.slice(1))) return false;
    } else if (patternMatch(text, p)) {
      positive = true;
    }
  }
  return positive;
}

const isCatchAll = (patterns: readonly string[]): boolean => patterns.every((p) => /^\*+$/.test(p));

interface PassState {
  readonly q: HostQuery;
  readonly final: boolean;
  readonly options: Map<string, readonly string[]>;
  readonly notes: string[];
  wantFinal: boolean;
  matchedSpecific: boolean;
}

/** `%h` in HostName is the only token OpenSSH allows there; `Match host` sees the substituted name. */
function currentHostName(st: PassState): string {
  const hn = st.options.get('hostname')?.[0];
  return hn === undefined ? st.q.host : hn.replace(/%(%|h)/g, (_, t: string) => (t === '%' ? '%' : st.q.host));
}

function matchCriteria(args: readonly string[], st: PassState): boolean {
  let result = true;
  for (let i = 0; i < args.length; i++) {
    const raw = args[i] ?? '';
    const negate = raw.startsWith('!');
    const name = (negate ? raw.slice(1) : raw).toLowerCase();
    let ok: boolean;
    if (name === 'all') ok = true;
    else if (name === 'canonical') ok = false; // this tool does no CanonicalizeHostname pass
    else if (name === 'final') {
      if (!st.final) st.wantFinal = true;
      ok = st.final;
    } else {
      const arg = args[++i];
      if (arg === undefined) {
        st.notes.push(`Match ${name} without an argument: section ignored`);
        return false;
      }
      switch (name) {
        case 'host': ok = patternListMatch(currentHostName(st), [arg]); break;
        case 'originalhost': ok = patternListMatch(st.q.host, [arg]); break;
        case 'user': ok = patternListMatch(st.options.get('user')?.[0] ?? st.q.user ?? st.q.localUser, [arg]); break;
        case 'localuser': ok = patternListMatch(st.q.localUser, [arg]); break;
        case 'exec':
          // Running commands from a config file is not something a passthrough tool should do on the operator's behalf.
          st.notes.push(`Match exec is not run by pve-passthrough: that section is skipped for ${st.q.host}`);
          return false;
        default:
          st.notes.push(`Match ${name} is not supported: that section is skipped for ${st.q.host}`);
          return false;
      }
    }
    if (negate) ok = !ok;
    if (!ok) result = false;
  }
  return result;
}

function setOption(st: PassState, key: string, args: readonly string[]): void {
  if (ACCUMULATE.has(key)) {
    st.options.set(key, [...(st.options.get(key) ?? []), ...args]);
  } else if (!st.options.has(key)) {
    st.options.set(key, args);
  }
}

const MAX_DEPTH = 16;

function walk(entries: readonly ConfigEntry[], st: PassState, active: boolean, depth: number): void {
  let on = active;
  for (const e of entries) {
    switch (e.kind) {
      case 'option':
        if (on) setOption(st, e.key, e.args);
        break;
      case 'include':
        // Inside an inactive section the included files can match nothing (OpenSSH SSHCONF_NEVERMATCH).
        if (depth < MAX_DEPTH) for (const f of e.files) walk(f.entries, st, on, depth + 1);
        break;
      case 'host': {
        const hit = active && patternListMatch(st.q.host, e.args);
        if (hit && !isCatchAll(e.args)) st.matchedSpecific = true;
        walk(e.body, st, hit, depth);
        on = active;
        break;
      }
      case 'match': {
        const hit = active && matchCriteria(e.args, st);
        if (hit && !e.args.every((a) => a.toLowerCase() === 'all')) st.matchedSpecific = true;
        walk(e.body, st, hit, depth);
        on = active;
        break;
      }
    }
  }
}

/**
 * The options that apply to one host: every file in order, first value wins,
 * then a second pass when a `Match final` section asked for one.
 */
export function evaluateSshConfig(config: SshConfig, q: HostQuery): RawHostConfig {
  const st: PassState = { q, final: false, options: new Map(), notes: [], wantFinal: false, matchedSpecific: false };
  if (q.user !== undefined) st.options.set('user', [q.user]);
  for (const f of config.files) walk(f.entries, st, true, 0);
  if (st.wantFinal) {
    const finalSt: PassState = { ...st, final: true };
    for (const f of config.files) walk(f.entries, finalSt, true, 0);
    st.matchedSpecific ||= finalSt.matchedSpecific;
  }
  return { options: st.options, matchedSpecific: st.matchedSpecific, notes: [...new Set(st.notes)] };
}

export interface TokenContext {
  readonly home: string;
  readonly localUser: string;
  /** Original host name as written (%n). */
  readonly originalHost: string;
  /** Host name after HostName substitution (%h). */
  readonly hostName: string;
  readonly user: string;
  readonly port: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * `~`, %-tokens and ${ENV} in path-like values (IdentityFile, UserKnownHostsFile,
 * IdentityAgent). Returns an Error for an unknown token or unset variable:
 * OpenSSH refuses those too, and guessing a path would be worse.
 */
export function expandPathValue(value: string, t: TokenContext): string | Error {
  let v = value;
  if (v === '~') v = t.home;
  else if (v.startsWith('~/')) v = `${t.home.replace(/\/+$/, '')}/${v.slice(2)}`;
  let problem: string | undefined;
  v = v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const val = t.env[name];
    if (val === undefined) problem ??= `environment variable ${name} is not set`;
    return val ?? '';
  });
  const tokens: Record<string, string> = {
    '%': '%', d: t.home, u: t.localUser, h: t.hostName, n: t.originalHost, r: t.user, p: String(t.port),
  };
  v = v.replace(/%(.)/g, (_, c: string) => {
    const val = tokens[c];
    if (val === undefined) problem ??= `token %${c} is not supported`;
    return val ?? '';
  });
  return problem ? new Error(`${problem} in "${value.slice(0, 120)}"`) : v;
}
