/**
 * `hostname`: the kernel's host name, the one fact both the facts batch and
 * the naming of a --host node read. PVE's node name is its first label
 * (PVE::INotify::nodename takes uname's nodename up to the first dot, and
 * pmxcfs/corosync use the same), so that is the name a --host node gets when
 * --node-name is not given. Not /etc/hostname: that is only what the next
 * boot sets (hostname(5)), may hold comments, and an operator's `hostname
 * NAME` or `hostnamectl` changes the running name without it.
 */
import { NODE_NAME } from '../../patterns.js';
import { seq, cmd, type Cmd, type Script } from '../../transport/shell.js';

export const HOSTNAME_CMD: Cmd = cmd(['hostname']);

export function hostnameScript(): Script {
  return seq(HOSTNAME_CMD);
}

/** The host name and its node name from `hostname`'s output, or why there are none. */
export function parseHostname(stdout: string): { readonly hostname: string; readonly nodeName: string } | { readonly problem: string } {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const name = lines[0]?.trim() ?? '';
  if (lines.length !== 1 || !/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(name)) {
    return { problem: `hostname printed ${JSON.stringify(stdout.slice(0, 60))}, not one host name` };
  }
  const label = name.split('.')[0]!;
  return NODE_NAME.test(label) ? { hostname: name, nodeName: label } : { problem: `hostname ${JSON.stringify(name.slice(0, 60))} does not start with a valid PVE node name` };
}
