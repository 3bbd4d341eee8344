/**
 * Task ids: `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:` (pve-common UPID.pm).
 * The node in field 2 is where the task runs, and where it must be queried.
 */
import { FormatError, show } from './errors.js';

export interface Upid {
  readonly node: string;
  readonly pid: number;
  readonly pstart: number;
  readonly starttime: number;
  readonly type: string;
  /** May be empty (tasks not tied to a guest). */
  readonly id: string;
  /** user@realm or a token id user@realm!tokenid */
  readonly user: string;
  readonly text: string;
}

const UPID = /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

export function parseUpid(text: string): Upid {
  const m = UPID.exec(text);
  if (!m) throw new FormatError('UPID', `${show(text)} is not a task id (UPID:node:pid:pstart:starttime:type:id:user:)`);
  const [, node, pid, pstart, starttime, type, id, user] = m as unknown as [string, string, string, string, string, string, string, string];
  return { node, pid: parseInt(pid, 16), pstart: parseInt(pstart, 16), starttime: parseInt(starttime, 16), type, id, user, text };
}

export function isUpid(text: unknown): text is string {
  return typeof text === 'string' && UPID.test(text);
}
