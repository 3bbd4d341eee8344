/** Questions on the terminal (stderr), secrets without echo. Refuses without a TTY. */
import { createInterface } from 'node:readline';
import { InputError } from '../errors.js';

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

export function askSecret(question: string): Promise<string> {
  if (!canPrompt()) return Promise.reject(new InputError(`${question.replace(/: $/, '')}: no terminal to ask on`, [], { fix: 'provide the secret through "env" or "file" in the inventory' }));
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
    let asked = false;
    out._writeToOutput = (s: string) => {
      // Echo the question once, never the typed characters.
      if (!asked) { process.stderr.write(s); asked = true; }
    };
    rl.question(question, (answer) => {
      process.stderr.write('\n');
      rl.close();
      resolve(answer);
    });
  });
}

export function confirm(question: string): Promise<boolean> {
  if (!canPrompt()) return Promise.resolve(false);
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    rl.question(`${question} [y/N] `, (a) => {
      rl.close();
      resolve(/^y(es)?$/i.test(a.trim()));
    });
  });
}
