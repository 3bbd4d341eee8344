/**
 * Resolving a SecretRef to its value: environment, a 0600 file, an inline
 * value the user explicitly allowed, or a prompt on the terminal. Every value
 * resolved is remembered so logs and reports can redact it.
 */
import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { SecretRef } from './schema.js';

export type Prompt = (question: string) => Promise<string>;

export class SecretStore {
  private readonly seen = new Set<string>();
  private readonly answers = new Map<string, Promise<string>>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env, private readonly prompt?: Prompt) {}

  /** All secret values resolved so far (for redaction). */
  values(): string[] {
    return [...this.seen];
  }

  async resolve(ref: SecretRef, what: string): Promise<string> {
    const value = await this.lookup(ref, what);
    this.seen.add(value);
    return value;
  }

  private async lookup(ref: SecretRef, what: string): Promise<string> {
    if (ref.env) {
      const v = this.env[ref.env];
      if (v) return v.replace(/\r?\n$/, '');
      if (!ref.file && !ref.prompt) throw new InputError(`${what}: environment variable ${ref.env} is not set`, [], { fix: `export ${ref.env}=… before running` });
    }
    if (ref.file) {
      let st;
      try {
        st = await stat(ref.file);
      } catch {
        throw new InputError(`${what}: secret file ${ref.file} does not exist`, [], { fix: 'create it (mode 0600) or point "file" at the right path' });
      }
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
        throw new InputError(`${what}: secret file ${ref.file} is readable by others (mode ${(st.mode & 0o777).toString(8)})`, [], { fix: `chmod 600 ${ref.file}` });
      }
      return (await readFile(ref.file, 'utf8')).replace(/\r?\n$/, '');
    }
    if (ref.value !== undefined && ref.allowInline) return ref.value;
    if (ref.prompt || (!ref.env && !ref.file)) {
      if (!this.prompt) throw new InputError(`${what}: no secret source and no terminal to ask on`, [], { fix: 'set "env" or "file" for this secret' });
      // Asked once per run: a second connection for the same secret (e.g. naming a --host node first) reuses the answer.
      const asked = this.answers.get(what) ?? this.prompt(`${what}: `);
      this.answers.set(what, asked);
      return asked;
    }
    throw new InputError(`${what}: no usable secret source`, [], { fix: 'set "env" or "file" for this secret' });
  }
}
