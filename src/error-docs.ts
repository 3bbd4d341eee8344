/**
 * docs/errors.md, generated from the error catalogue (src/error-codes.ts), so
 * every code the tool raises is documented and a new one cannot be forgotten.
 * `npm run gen:errors`; test/errors/generated.test.ts checks the file is current.
 */
import { ERROR_CATALOGUE, ErrorCode, type ErrorLayer } from './error-codes.js';

/** The class a layer's errors are, and what the layer covers. */
const LAYERS: Readonly<Record<ErrorLayer, { readonly title: string; readonly cls: string; readonly about: string }>> = {
  input: { title: 'Input', cls: 'InputError', about: 'Bad inventory, flags, plan file or library argument; nothing was contacted. `problems` lists every problem found.' },
  format: { title: 'PVE formats', cls: 'FormatError', about: 'A value in one of PVE\'s own formats; `format` names which.' },
  ssh: { title: 'SSH (host level)', cls: 'SshError', about: 'Connecting, host keys, running commands, the reboot wait. `HostKeyError` carries the `fingerprint`, `RemoteCommandError` the `exitCode` and `stderr`, `BatchParseError` is a malformed batched read.' },
  api: { title: 'PVE API (VM level)', cls: 'ApiError', about: 'HTTP answers, TLS, tasks. `status` is the HTTP status (null before one exists), `paramErrors` PVE\'s per-parameter messages; `TaskFailedError` carries the `upid`, `exitstatus` and `log`, `TlsPinError` the `expected` and `actual` fingerprints.' },
  safety: { title: 'Safety gates', cls: 'SafetyError', about: 'A gate said no before anything unsafe was done. `UnsafeContentError` and `UnsafeArgumentError` are values refused before they reached a file or a command.' },
  run: { title: 'The run', cls: 'RunError', about: 'The engine\'s own state: the lease (`LeaseError`), interruption, the cluster disagreeing with the inventory, and internal failures.' },
};

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function renderErrorDocs(): string {
  const out: string[] = [
    '# Error codes',
    '',
    '<!-- Generated from src/error-codes.ts by `npm run gen:errors`; do not edit by hand (a test checks it is current). -->',
    '',
    'Every error the tool raises on purpose has a stable `code` from this closed list. The CLI prints it as one line',
    '(`cluster/node: what happened [step] — fix: …`) and, with `--json`, as `{ "error": { "code", "message", "node", "step", "fix" } }`;',
    `the reports of plan, apply and verify carry the same \`code\` per node and VM. Anything else that escapes (a bug) is \`${ErrorCode.INTERNAL}\`.`,
    '',
    'The library exports one base class, `PassthroughError`, one class per layer below, and the catalogue itself:',
    '',
    '```ts',
    "import { apply, PassthroughError, ErrorCode, ERROR_CATALOGUE } from 'pve-passthrough';",
    'try {',
    '  await apply(inventory, { plan: saved });',
    '} catch (err) {',
    '  if (!(err instanceof PassthroughError)) throw err;',
    '  if (err.code === ErrorCode.PLAN_DIFFERS) console.error(`plan again: ${err.context.fix}`);',
    '  else console.error(err.oneLine(), ERROR_CATALOGUE[err.code].fix);',
    '}',
    '```',
    '',
    `The library refuses what the CLI refuses: an inventory built in code is validated like a file (\`${ErrorCode.INPUT}\`, naming each field,`,
    'before anything is contacted), and `apply(inventory, { plan })` refuses a plan from another inventory or one that differs',
    `from a fresh plan (\`${ErrorCode.PLAN_DIFFERS}\`), as \`apply --plan\` does (test/safety/library-guards.test.ts).`,
    '',
    'The fix below is the usual one; the error\'s own `context.fix` is more precise when it has one.',
  ];
  for (const [layer, about] of Object.entries(LAYERS) as [ErrorLayer, (typeof LAYERS)[ErrorLayer]][]) {
    const codes = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter((c) => ERROR_CATALOGUE[c].layer === layer);
    out.push('', `## ${about.title}: \`${about.cls}\``, '', about.about, '', '| code | meaning | usual fix |', '|---|---|---|');
    for (const c of codes) out.push(`| \`${c}\` | ${cell(ERROR_CATALOGUE[c].meaning)} | ${cell(ERROR_CATALOGUE[c].fix)} |`);
  }
  return `${out.join('\n')}\n`;
}
