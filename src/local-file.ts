/**
 * The one way the tool writes a file on the machine it runs on (verify -o,
 * plan --out, inventory discover -o, learned known_hosts): the whole content
 * goes to a temporary file in the same folder, is flushed, then renamed over
 * the target. A reader (a node_exporter textfile collector, a script polling
 * for a plan) sees the old file or the new one, never half of one; the mode is
 * the one asked for (0600 by default), whatever the old file had.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from './errors.js';

export const PRIVATE_FILE_MODE = 0o600;

/** In-process writers of the same path take turns, so a read-modify-write (known_hosts) loses no line. */
const turns = new Map<string, Promise<unknown>>();

export async function writeFileAtomic(path: string, data: string | Uint8Array, o: { mode?: number } = {}): Promise<void> {
  const mode = o.mode ?? PRIVATE_FILE_MODE;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  // 'wx': a fresh file, never a symlink or a file someone else prepared under that name.
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.chmod(mode); // the umask may have taken bits the user asked for
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Runs `fn` after every earlier call for the same path has finished (one process). */
export async function inTurn<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const before = turns.get(path) ?? Promise.resolve();
  const mine = before.then(fn, fn);
  const settled = mine.catch(() => undefined);
  turns.set(path, settled);
  try {
    return await mine;
  } finally {
    if (turns.get(path) === settled) turns.delete(path);
  }
}

/** Parses a user's octal mode ("0644", "644"); undefined when not given. */
export function parseFileMode(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^0?[0-7]{3}$/.test(text)) throw new InputError(`${flag} "${text}" is not an octal file mode`, [], { fix: `e.g. ${flag} 0644 (owner read/write, others read)` });
  return Number.parseInt(text, 8);
}
