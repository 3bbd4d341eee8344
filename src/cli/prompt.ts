/**
 * Questions on the terminal (stderr), through Inquirer's maintained prompts:
 * secrets without echo, yes/no confirmations. Each prompt pauses the live
 * progress area first (live.ts), so a redraw never erases or overwrites it.
 * Refuses without a TTY.
 */
import { InputError } from '../errors.js';
import { withTerminal } from './live.js';

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

const context = () => ({ input: process.stdin, output: process.stderr });

/** Ctrl-C or a closed terminal at a prompt is a clear input error, not an internal one. */
async function asked<T>(prompt: () => Promise<T>, what: string): Promise<T> {
  try {
    return await withTerminal(prompt);
  } catch (err) {
    if (err instanceof Error && err.name === 'ExitPromptError') throw new InputError(`${what}: cancelled at the prompt`);
    throw err;
  }
}

export async function askSecret(question: string): Promise<string> {
  const message = question.replace(/:\s*$/, '');
  if (!canPrompt()) throw new InputError(`${message}: no terminal to ask on`, [], { fix: 'provide the secret through "env" or "file" in the inventory' });
  const { default: password } = await import('@inquirer/password');
  return asked(() => password({ message, mask: false }, context()), message);
}

export async function confirm(question: string): Promise<boolean> {
  if (!canPrompt()) return false;
  const { default: ask } = await import('@inquirer/confirm');
  return asked(() => ask({ message: question, default: false }, context()), 'confirmation');
}
