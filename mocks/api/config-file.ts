/**
 * A VM's config as qemu-server keeps it: current keys, a [PENDING] section
 * and pending deletions, rendered like /etc/pve/qemu-server/<vmid>.conf.
 * The digest is the SHA-1 of that text, so every change to the file (pending
 * included) changes it.
 */
import { createHash } from 'node:crypto';

export interface VmConfigFile {
  readonly current: Map<string, string>;
  readonly pending: Map<string, string>;
  /** key → forced delete */
  readonly pendingDelete: Map<string, boolean>;
}

export function emptyConfigFile(): VmConfigFile {
  return { current: new Map(), pending: new Map(), pendingDelete: new Map() };
}

function renderSection(map: ReadonlyMap<string, string>): string {
  let out = '';
  const description = map.get('description');
  if (description !== undefined) for (const line of description.split('\n')) out += `#${line}\n`;
  for (const key of [...map.keys()].sort()) {
    if (key === 'description') continue;
    out += `${key}: ${map.get(key)}\n`;
  }
  return out;
}

/** qemu-server write_vm_config: description as comments, keys sorted, then [PENDING]. */
export function renderConfigFile(file: VmConfigFile): string {
  let out = renderSection(file.current);
  if (file.pending.size > 0 || file.pendingDelete.size > 0) {
    out += '\n[PENDING]\n';
    if (file.pendingDelete.size > 0) {
      const list = [...file.pendingDelete.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, force]) => (force ? `!${k}` : k));
      out += `delete: ${list.join(',')}\n`;
    }
    out += renderSection(file.pending);
  }
  return out;
}

export function configDigest(file: VmConfigFile): string {
  return createHash('sha1').update(renderConfigFile(file)).digest('hex');
}

function sortedObject(map: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

export function currentView(file: VmConfigFile): Record<string, string> {
  return sortedObject(file.current);
}

/** What GET config returns by default: pending values applied, pending deletions removed. */
export function mergedView(file: VmConfigFile): Record<string, string> {
  const merged = new Map(file.current);
  for (const [k, v] of file.pending) merged.set(k, v);
  for (const k of file.pendingDelete.keys()) merged.delete(k);
  return sortedObject(merged);
}

export interface PendingItem {
  key: string;
  value?: string;
  pending?: string;
  delete?: 1 | 2;
}

/** GET …/pending */
export function pendingItems(file: VmConfigFile): PendingItem[] {
  const keys = new Set([...file.current.keys(), ...file.pending.keys(), ...file.pendingDelete.keys()]);
  return [...keys].sort().map((key) => {
    const item: PendingItem = { key };
    const value = file.current.get(key);
    if (value !== undefined) item.value = value;
    const pending = file.pending.get(key);
    if (pending !== undefined) item.pending = pending;
    const del = file.pendingDelete.get(key);
    if (del !== undefined) item.delete = del ? 2 : 1;
    return item;
  });
}

/** AbstractConfig cleanup_pending: drop pending values equal to current and deletions of unset keys. */
export function cleanupPending(file: VmConfigFile): void {
  for (const [k, v] of [...file.pending]) if (file.current.get(k) === v) file.pending.delete(k);
  for (const k of [...file.pendingDelete.keys()]) if (!file.current.has(k)) file.pendingDelete.delete(k);
}

/** Move pending changes into the current config; `only` limits which keys (hotplug). */
export function applyPending(file: VmConfigFile, only: (key: string) => boolean = () => true): void {
  for (const k of [...file.pendingDelete.keys()]) {
    if (!only(k)) continue;
    file.current.delete(k);
    file.pendingDelete.delete(k);
  }
  for (const [k, v] of [...file.pending]) {
    if (!only(k)) continue;
    file.current.set(k, v);
    file.pending.delete(k);
  }
}
