/**
 * Kernel command line.
 *
 * Rules:
 * - Desired tokens: `intel_iommu=on` only when the IOMMU is Intel's and the
 *   NEXT kernel is older than 6.8 (and devices are declared); never
 *   `amd_iommu=on` (it does nothing; warned and dropped); `iommu=pt` when
 *   node.iommuPassthrough; then node.kernelParams in order.
 *   `pcie_acs_override=…` only with allowAcsOverride (warning); `intremap=off`
 *   and `nointremap` are refused.
 * - GRUB: the drop-in /etc/default/grub.d/pve-passthrough.cfg appends the
 *   tokens not already configured anywhere else to GRUB_CMDLINE_LINUX_DEFAULT.
 *   A later-sourced grub.d/*.cfg that assigns GRUB_CMDLINE_LINUX_DEFAULT
 *   without "$GRUB_CMDLINE_LINUX_DEFAULT" (or that we cannot read) would undo
 *   it: the node is refused, naming that file.
 * - systemd-boot: the first line of /etc/kernel/cmdline is edited in place:
 *   missing tokens appended, everything else kept. A result without `root=`
 *   is refused. Which tokens the tool appended is remembered in a comment
 *   line of the tool's modprobe file (the "ledger", since /etc/kernel/cmdline
 *   cannot carry comments), so that removal takes out exactly those.
 * - Removal: owned tokens that are no longer desired disappear; the drop-in
 *   is removed when it would be empty.
 */
import { KERNEL_PARAM } from '../../patterns.js';
import type { HostFacts } from '../../facts/host/types.js';
import type { Device, Node } from '../../inventory/schema.js';
import type { Refusal, Warning } from '../types.js';
import { firstLine, splitCmdline, tokenKey } from './cmdline-tokens.js';
import { ineffectiveFramebufferTokens, wantedFramebufferToken } from './framebuffer.js';
import type { FileChange, ModuleResult } from './file-change.js';
import { evaluateGrub, grubCmdlineText, grubInputs } from '../../facts/host/grub-defaults.js';
import { INTEL_IOMMU_DEFAULT_ON, kernelBelow } from './kernel-version.js';
import { GRUB_D, GRUB_DROPIN, KERNEL_CMDLINE_FILE, MANAGED_HEADER, MODPROBE_FILE, UnsafeContentError } from './paths.js';

/** Comment line in the tool's modprobe file listing tokens appended to /etc/kernel/cmdline. */
export const LEDGER_PREFIX = '# cmdline-tokens-added:';

export function iommuKind(facts: HostFacts): 'intel' | 'amd' | null {
  if (facts.iommu.kind) return facts.iommu.kind;
  return facts.cpuVendor === 'unknown' ? null : facts.cpuVendor;
}

export interface DesiredTokens {
  readonly tokens: readonly string[];
  readonly refused: readonly Refusal[];
  readonly warnings: readonly Warning[];
}

/**
 * `planned`: the node's devices that passed the safety checks (true/false:
 * all declared devices / none), for the IOMMU token and the framebuffer
 * token (framebuffer.ts).
 */
export function desiredCmdlineTokens(node: Node, facts: HostFacts, planned: boolean | readonly Device[]): DesiredTokens {
  const devices = planned === true ? node.devices : planned === false ? [] : planned;
  const hasDevices = planned === true || devices.length > 0;
  const tokens: string[] = [];
  const refused: Refusal[] = [];
  const warnings: Warning[] = [];
  const add = (t: string) => {
    if (!tokens.includes(t)) tokens.push(t);
  };
  if (hasDevices && iommuKind(facts) === 'intel' && kernelBelow(facts.kernel.next, INTEL_IOMMU_DEFAULT_ON.major, INTEL_IOMMU_DEFAULT_ON.minor) === true) {
    add('intel_iommu=on');
  }
  if (node.iommuPassthrough) add('iommu=pt');
  for (const p of node.kernelParams) {
    const subject = `kernel parameter ${p}`;
    if (p === 'amd_iommu=on') {
      warnings.push({ subject, message: 'amd_iommu has no "on" value (the AMD IOMMU is on by default); not written' });
    } else if (p === 'nointremap' || p === 'intremap=off') {
      refused.push({ subject, reason: 'turning interrupt remapping off removes the isolation passthrough relies on', fix: 'remove it from kernelParams; use allowUnsafeInterrupts only if the hardware lacks remapping' });
    } else if (tokenKey(p) === 'pcie_acs_override') {
      if (node.allowAcsOverride) {
        warnings.push({ subject, message: 'ACS override only claims isolation the hardware may not have (allowed by allowAcsOverride)' });
        add(p);
      } else {
        refused.push({ subject, reason: 'ACS override splits IOMMU groups without real isolation', fix: 'set "allowAcsOverride": true on the node if you accept the risk' });
      }
    } else {
      add(p);
    }
  }
  const fb = hasDevices ? wantedFramebufferToken(devices, facts, ownedCmdlineTokens(facts)) : null;
  if (fb) add(fb);
  warnings.push(...ineffectiveFramebufferTokens(node, facts, configuredCmdline(facts) ?? []));
  return { tokens, refused, warnings };
}

export function assertKernelToken(t: string): string {
  if (!KERNEL_PARAM.test(t)) throw new UnsafeContentError('kernel parameter', t);
  return t;
}

export function renderGrubDropin(tokens: readonly string[]): string {
  tokens.forEach(assertKernelToken);
  return `${MANAGED_HEADER}\nGRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT ${tokens.join(' ')}"\n`;
}

/** Tokens the tool currently owns: its drop-in's and the ledger's. */
export function ownedCmdlineTokens(facts: HostFacts): string[] {
  return [...new Set([...dropinTokens(facts), ...readLedger(facts)])];
}

/** Tokens the tool's own drop-in currently adds (its file evaluated alone). */
export function dropinTokens(facts: HostFacts): string[] {
  const content = facts.files[GRUB_DROPIN]?.content;
  if (content == null) return [];
  return splitCmdline(evaluateGrub(new Map([[GRUB_DROPIN, content]])).value.cmdlineLinuxDefault ?? '');
}

export function readLedger(facts: HostFacts): string[] {
  const content = facts.files[MODPROBE_FILE]?.content ?? '';
  const line = content.split('\n').find((l) => l.startsWith(LEDGER_PREFIX));
  return line ? splitCmdline(line.slice(LEDGER_PREFIX.length)).filter((t) => KERNEL_PARAM.test(t)) : [];
}

export function renderLedger(tokens: readonly string[]): string | null {
  return tokens.length ? `${LEDGER_PREFIX} ${tokens.map(assertKernelToken).join(' ')}` : null;
}

export interface CmdlinePlan extends ModuleResult {
  readonly desired: readonly string[];
  /** Tokens appended to /etc/kernel/cmdline after this plan (goes into the modprobe file). */
  readonly ledger: readonly string[];
}

export function planKernelCmdline(node: Node, facts: HostFacts, planned: boolean | readonly Device[]): CmdlinePlan {
  const want = desiredCmdlineTokens(node, facts, planned);
  const refused = [...want.refused];
  const warnings = [...want.warnings];
  const blocking: Refusal[] = [];
  const changes: FileChange[] = [];
  const sdboot = facts.bootLoader.kind === 'systemd-boot';

  // GRUB drop-in (removed on systemd-boot hosts: GRUB config is not read there).
  const grubTokens = sdboot ? [] : want.tokens;
  const elsewhere = evaluateGrub(grubInputs(facts.files, [GRUB_DROPIN])).value;
  // A value that cannot be evaluated counts as holding nothing: the drop-in is written anyway.
  const present = new Set(splitCmdline(`${elsewhere.cmdlineLinux ?? ''} ${elsewhere.cmdlineLinuxDefault ?? ''}`));
  const toWrite = grubTokens.filter((t) => !present.has(t));
  for (const t of grubTokens) {
    for (const other of present) {
      if (other !== t && tokenKey(other) === tokenKey(t)) {
        warnings.push({ subject: `kernel parameter ${t}`, message: `GRUB config also sets ${other}; the later token on the line wins` });
      }
    }
  }
  if (toWrite.length) {
    for (const a of elsewhere.assignments) {
      if (!(a.file.startsWith(GRUB_D) && a.file > GRUB_DROPIN) || a.name !== 'GRUB_CMDLINE_LINUX_DEFAULT') continue;
      if (a.selfReference && a.value !== null) continue;
      blocking.push({
        subject: `file ${a.file}`,
        reason: a.value === null
          ? `line ${a.line} sets GRUB_CMDLINE_LINUX_DEFAULT in a form pve-passthrough cannot evaluate (${a.conditional ? 'inside if/for/case' : 'command substitution'}); it is sourced after ${GRUB_DROPIN} and may undo it`
          : `line ${a.line} sets GRUB_CMDLINE_LINUX_DEFAULT without "$GRUB_CMDLINE_LINUX_DEFAULT"; it is sourced after ${GRUB_DROPIN} and would drop its tokens`,
        fix: `make it append (GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT …") or move its tokens to /etc/default/grub`,
      });
    }
  }
  const dropinAfter = toWrite.length ? renderGrubDropin(toWrite) : null;
  if ((facts.files[GRUB_DROPIN]?.content ?? null) !== dropinAfter) {
    changes.push({ path: GRUB_DROPIN, after: dropinAfter, reason: dropinAfter ? `kernel command line: ${toWrite.join(' ')}` : 'no kernel parameters left to add' });
  }

  // /etc/kernel/cmdline (systemd-boot); on GRUB hosts only tokens the tool once appended are taken out.
  const ledgerBefore = readLedger(facts);
  const sd = editKernelCmdline(facts, sdboot ? want.tokens : [], ledgerBefore, sdboot);
  blocking.push(...sd.blocking);
  if (sd.change) changes.push(sd.change);

  return { changes, refused, blocking, warnings, desired: want.tokens, ledger: sd.ledger };
}

function editKernelCmdline(
  facts: HostFacts,
  desired: readonly string[],
  ledger: readonly string[],
  requireRoot: boolean,
): { change: FileChange | null; ledger: string[]; blocking: Refusal[] } {
  const content = facts.files[KERNEL_CMDLINE_FILE]?.content ?? null;
  if (content === null) {
    if (requireRoot && desired.length) {
      return {
        change: null,
        ledger: [],
        blocking: [{
          subject: `file ${KERNEL_CMDLINE_FILE}`,
          reason: 'this systemd-boot host has no /etc/kernel/cmdline; pve-passthrough edits that file in place and will not invent a root= line',
          fix: 'create it from the current command line (root=… boot=zfs) and run `proxmox-boot-tool refresh`, then plan again',
        }],
      };
    }
    return { change: null, ledger: [], blocking: [] };
  }
  const line = firstLine(content);
  const rest = content.slice(line.length);
  let next = line;
  const removed: string[] = [];
  for (const t of ledger) {
    if (desired.includes(t)) continue;
    const cut = removeLastToken(next, t);
    if (cut !== null) {
      next = cut;
      removed.push(t);
    }
  }
  const have = new Set(splitCmdline(next));
  const appended = desired.filter((t) => !have.has(t)).map(assertKernelToken);
  if (appended.length) next = `${next}${next === '' ? '' : ' '}${appended.join(' ')}`;
  const newLedger = desired.filter((t) => appended.includes(t) || (ledger.includes(t) && have.has(t)));
  if (next === line) return { change: null, ledger: newLedger, blocking: [] };
  if (requireRoot && !splitCmdline(next).some((t) => t.startsWith('root='))) {
    return {
      change: null,
      ledger: [...ledger],
      blocking: [{
        subject: `file ${KERNEL_CMDLINE_FILE}`,
        reason: 'its first line has no root= parameter; proxmox-boot-tool refresh would fail and the host might not boot',
        fix: 'put the full command line (root=… plus your parameters) on the first line, then plan again',
      }],
    };
  }
  const why = [appended.length ? `append ${appended.join(' ')}` : '', removed.length ? `remove ${removed.join(' ')}` : ''].filter(Boolean).join('; ');
  return { change: { path: KERNEL_CMDLINE_FILE, after: next + rest, reason: `kernel command line: ${why}` }, ledger: newLedger, blocking: [] };
}

/** Removes the last whitespace-separated occurrence of `token` and the whitespace before it. */
function removeLastToken(line: string, token: string): string | null {
  const re = /\S+/g;
  let hit: { start: number; end: number } | null = null;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m[0] === token) hit = { start: m.index, end: m.index + m[0].length };
  }
  if (!hit) return null;
  let start = hit.start;
  if (start > 0 && /\s/.test(line[start - 1]!)) start -= 1;
  else if (hit.end < line.length && /\s/.test(line[hit.end]!)) return line.slice(0, start) + line.slice(hit.end + 1);
  return line.slice(0, start) + line.slice(hit.end);
}

/** Tokens the loader config will hand to the kernel at next boot (null: cannot tell). */
export function configuredCmdline(facts: HostFacts): string[] | null {
  if (facts.bootLoader.kind === 'systemd-boot') {
    const c = facts.files[KERNEL_CMDLINE_FILE]?.content;
    return c == null ? null : splitCmdline(firstLine(c));
  }
  const text = grubCmdlineText(evaluateGrub(grubInputs(facts.files)).value);
  return text === null ? null : splitCmdline(text);
}

/**
 * Reboot reasons from the command line: a desired token missing from
 * /proc/cmdline, or a token the tool owned (drop-in or ledger, before the
 * change) that is still running although no longer configured.
 */
export function cmdlineRebootReasons(facts: HostFacts, desired: readonly string[], owned: readonly string[]): string[] {
  const running = new Set(splitCmdline(facts.procCmdline));
  const configured = configuredCmdline(facts);
  const reasons: string[] = [];
  for (const t of desired) if (!running.has(t)) reasons.push(`cmdline token ${t} missing from /proc/cmdline`);
  if (configured === null) return reasons;
  const conf = new Set(configured);
  for (const t of new Set(owned)) {
    if (!desired.includes(t) && running.has(t) && !conf.has(t)) reasons.push(`cmdline token ${t} still in /proc/cmdline but no longer configured`);
  }
  return reasons;
}
