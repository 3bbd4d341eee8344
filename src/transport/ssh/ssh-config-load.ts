/**
 * Reads the ssh_config files OpenSSH would read: `-F FILE` alone, or
 * ~/.ssh/config then /etc/ssh/ssh_config, each with its Include files
 * (globs, sorted; relative names under ~/.ssh or /etc/ssh as ssh_config(5) says).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { SshError } from '../../errors.js';
import { assertConfigTrusted } from './file-trust.js';
import { includesOf, parseSshConfig, patternMatch, type ConfigEntry, type ConfigFile, type SshConfig } from './ssh-config.js';
import { ErrorCode } from '../../error-codes.js';

export interface LoadSshConfigOptions {
  /** `-F FILE`: read only this file; it must exist. */
  readonly file?: string;
  readonly home: string;
  /** System-wide file read after the user's (skipped with `file`). Default /etc/ssh/ssh_config; false: none. */
  readonly systemFile?: string | false;
}

export const DEFAULT_SYSTEM_SSH_CONFIG = '/etc/ssh/ssh_config';
/** Larger than any real config; a bigger file is a mistake (or /dev/zero). */
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_INCLUDE_DEPTH = 16;

const configError = (message: string, fix: string): SshError => new SshError(ErrorCode.SSH_CONFIG, message, { step: 'ssh config', fix });

function expandTilde(p: string, home: string): string {
  if (p === '~') return home;
  return p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

/**
 * Contents, or undefined when the file does not exist (an optional file).
 * `checkPerm`: OpenSSH's SSHCONF_CHECKPERM (the user's file and Include files; file-trust.ts).
 */
async function readConfigText(path: string, checkPerm: boolean): Promise<string | undefined> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw configError(`ssh config ${path} is not a regular file`, 'point -F at an ssh_config file');
    if (checkPerm) assertConfigTrusted(path, st);
    if (st.size > MAX_FILE_BYTES) throw configError(`ssh config ${path} is larger than 1 MiB`, 'point -F at an ssh_config file');
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof SshError) throw err;
    throw configError(`cannot read ssh config ${path}: ${(err as Error).message}`, 'check the file and its permissions');
  }
}

const hasWildcard = (s: string): boolean => /[*?]/.test(s);

/** glob(3) for Include: `*` and `?` within path components, dotfiles only when asked for, sorted. */
export async function expandIncludeGlob(pattern: string): Promise<string[]> {
  if (!hasWildcard(pattern)) return [pattern];
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : parts[0] ?? ''];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    if (!hasWildcard(part)) {
      bases = bases.map((b) => join(b, part));
      continue;
    }
    const next: string[] = [];
    for (const base of bases) {
      let names: string[];
      try {
        names = await readdir(base);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (patternMatch(name, part, false)) next.push(join(base, name));
      }
    }
    bases = next;
  }
  return bases;
}

async function loadFile(path: string, text: string, baseDir: string, home: string, depth: number): Promise<ConfigFile> {
  let entries: ConfigEntry[];
  try {
    entries = parseSshConfig(text);
  } catch (err) {
    throw configError(`cannot parse ssh config ${path}: ${(err as Error).message}`, 'fix the line `ssh -G <host>` complains about');
  }
  for (const inc of includesOf(entries)) {
    if (depth >= MAX_INCLUDE_DEPTH) throw configError(`ssh config ${path}: Include nested more than ${MAX_INCLUDE_DEPTH} deep`, 'remove the Include loop');
    const files: ConfigFile[] = [];
    for (const raw of inc.patterns) {
      const p = expandTilde(raw, home);
      for (const match of await expandIncludeGlob(isAbsolute(p) ? p : join(baseDir, p))) {
        const t = await readConfigText(match, true);
        // A missing Include file is not an error in OpenSSH either.
        if (t !== undefined) files.push(await loadFile(match, t, baseDir, home, depth + 1));
      }
    }
    inc.files.push(...files);
  }
  return { path, entries };
}

export async function loadSshConfig(o: LoadSshConfigOptions): Promise<SshConfig> {
  const userDir = join(o.home, '.ssh');
  if (o.file !== undefined) {
    const path = expandTilde(o.file, o.home);
    const text = await readConfigText(path, false);
    if (text === undefined) throw configError(`ssh config ${path} does not exist`, 'check the path given to -F/--ssh-config');
    return { files: [await loadFile(path, text, userDir, o.home, 0)] };
  }
  const files: ConfigFile[] = [];
  const userPath = join(userDir, 'config');
  const userText = await readConfigText(userPath, true);
  if (userText !== undefined) files.push(await loadFile(userPath, userText, userDir, o.home, 0));
  const systemPath = o.systemFile ?? DEFAULT_SYSTEM_SSH_CONFIG;
  if (systemPath !== false) {
    const systemText = await readConfigText(systemPath, false);
    // Relative Includes of the system file live in /etc/ssh (or beside a system file given for tests).
    const systemDir = systemPath === DEFAULT_SYSTEM_SSH_CONFIG ? '/etc/ssh' : dirname(systemPath);
    if (systemText !== undefined) files.push(await loadFile(systemPath, systemText, systemDir, o.home, 0));
  }
  return { files };
}
