/**
 * One exec per host: the batched facts script, split by the per-call nonce,
 * then assembled. The nonce is passed in (the engine draws it), so this stays
 * testable with a fake RemoteHost.
 */
import { redact, RemoteCommandError } from '../../errors.js';
import { batch, BatchParseError, parseBatch, type SectionResult } from '../../transport/shell.js';
import type { RemoteHost } from '../../transport/types.js';
import { assembleHostFacts } from './assemble.js';
import { factsSections } from './script.js';
import type { HostFacts } from './types.js';

export { factsFingerprint } from './fingerprint.js';

export interface GatherOptions {
  /** 16 random hex characters, fresh for this call. */
  readonly nonce: string;
  /** The host address the SSH connection reached, to find the management NIC. */
  readonly connectedAddress?: string;
}

function stderrHint(stderr: string): string {
  const first = redact(stderr).split('\n').find((l) => l.trim() !== '');
  return first ? `: ${first.trim().slice(0, 200)}` : '';
}

/** Runs the script and returns the raw sections (exposed for `--debug` dumps and tests). */
export async function readFactSections(host: RemoteHost, opts: GatherOptions): Promise<Map<string, SectionResult>> {
  const sectionOpts = opts.connectedAddress !== undefined ? { connectedAddress: opts.connectedAddress } : {};
  // The transport adds `sudo -n sh -c` for non-root logins.
  const script = batch(factsSections(sectionOpts), opts.nonce);
  const res = await host.exec(script);
  const context = { node: host.node, step: 'read facts' };
  if (res.code === null) {
    throw new RemoteCommandError('reading host facts was interrupted (connection dropped?)', null, res.stderr, context);
  }
  let sections: Map<string, SectionResult>;
  try {
    sections = parseBatch(res.stdout, opts.nonce);
  } catch (e) {
    if (!(e instanceof BatchParseError)) throw e;
    throw new RemoteCommandError(`the facts output was cut short (${e.message})`, res.code, res.stderr, context);
  }
  if (sections.size === 0) {
    const fix = 'check that the login shell is POSIX sh compatible, and for non-root logins that passwordless sudo (sudo -n) is allowed for sh';
    throw new RemoteCommandError(`the facts script produced no output (exit ${res.code})${stderrHint(res.stderr)}`, res.code, redact(res.stderr), { ...context, fix });
  }
  return sections;
}

export async function gatherHostFacts(host: RemoteHost, opts: GatherOptions): Promise<HostFacts> {
  const sections = await readFactSections(host, opts);
  return assembleHostFacts(sections, opts.connectedAddress !== undefined ? { connectedAddress: opts.connectedAddress } : {});
}
