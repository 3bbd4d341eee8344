/**
 * The effective SSH settings of one node: what the inventory says, filled in
 * from ssh_config where the inventory is silent (the inventory always wins),
 * plus the ProxyJump route with every hop resolved the same way. Pure: the
 * config is loaded elsewhere; home, local user and environment are passed in.
 *
 * ssh_config can never loosen host key checking: StrictHostKeyChecking is
 * ignored, `UserKnownHostsFile /dev/null` or `none` falls back to
 * ~/.ssh/known_hosts, and ProxyCommand is refused (no commands are run).
 */
import { posix } from 'node:path';
import { SshError } from '../../errors.js';
import { HOST_NAME } from '../../patterns.js';
import type { HostKeyPolicy } from './host-key.js';
import { evaluateSshConfig, expandPathValue, type SshConfig, type TokenContext } from './ssh-config.js';
import { ErrorCode } from '../../error-codes.js';

/** The inventory's `ssh` object, as far as connecting is concerned (structurally the schema's `Ssh`). */
export interface SshTargetSpec {
  /** Host name, address, or an ssh_config Host alias. */
  readonly host: string;
  readonly port?: number | undefined;
  readonly user?: string | undefined;
  readonly identityFile?: string | undefined;
  readonly agent?: boolean | undefined;
  readonly hostKey?: { readonly fingerprint: string } | { readonly knownHosts: string } | undefined;
  readonly proxyJump?: string | undefined;
}

export interface ResolveContext {
  readonly home: string;
  readonly localUser: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The run's --accept-new-host-keys, for every hop using known_hosts. */
  readonly acceptNewHostKeys: boolean;
}

/**
 * When to offer the ssh-agent: `always` (inventory agent: true), `fallback`
 * (agent not set in the inventory: only when no key file could be read) or `never`.
 */
export type AgentUse = 'always' | 'fallback' | 'never';

export interface ResolvedEndpoint {
  /** The name as written (alias or host), for messages. */
  readonly name: string;
  /** Where to connect (HostName after substitution). */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Key files to try, first readable one wins. */
  readonly identityFiles: readonly string[];
  /** The first identity file is the inventory's own (missing = error) rather than one from ssh_config (missing = skipped). */
  readonly identityFromInventory: boolean;
  /**
   * OpenSSH's default IdentityFile list (ssh_config(5), IdentityFile), tried
   * only when identityFiles is empty; missing files are skipped silently, as ssh does.
   */
  readonly defaultIdentityFiles: readonly string[];
  readonly agentSocket?: string;
  readonly agentUse: AgentUse;
  readonly hostKey: HostKeyPolicy;
  /** ssh_config HostKeyAlias: the name known_hosts is searched (and written) under. */
  readonly hostKeyAlias?: string;
}

export interface ResolvedTarget extends ResolvedEndpoint {
  /** Jump hosts in connection order (first is reached directly); empty when direct. */
  readonly jumps: readonly ResolvedEndpoint[];
  /** Things from ssh_config that were skipped or overridden on purpose (warnings). */
  readonly notes: readonly string[];
}

export interface JumpSpec {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

const DEFAULT_KNOWN_HOSTS = '~/.ssh/known_hosts';
const DEFAULT_USER = 'root';
/** Config users may be directory accounts (first.last); they go to the SSH protocol only, never to a shell. */
const CONFIG_USER = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/;
const HOP = /^(?:ssh:\/\/)?(?:([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;
const MAX_HOPS = 8;

const configError = (message: string, fix: string): SshError => new SshError(ErrorCode.SSH_CONFIG, message, { step: 'ssh config', fix });

/** OpenSSH ProxyJump: `[user@]host[:port]` (or `ssh://…`), comma-separated; `none` is no jump. */
export function parseProxyJump(spec: string): JumpSpec[] {
  if (spec.trim().toLowerCase() === 'none') return [];
  return spec.split(',').map((raw) => {
    const m = HOP.exec(raw.trim());
    const host = m?.[2]?.replace(/^\[|\]$/g, '');
    if (!m || host === undefined || !HOST_NAME.test(host)) {
      throw configError(`ProxyJump hop ${JSON.stringify(raw.slice(0, 80))} is not [user@]host[:port]`, 'write ProxyJump as user@host:port,user2@host2');
    }
    const port = m[3] === undefined ? undefined : Number(m[3]);
    if (port !== undefined && (port < 1 || port > 65535)) throw configError(`ProxyJump hop ${raw} has port ${port}`, 'use a port from 1 to 65535');
    return { host, ...(m[1] !== undefined ? { user: m[1] } : {}), ...(port !== undefined ? { port } : {}) };
  });
}

interface EndpointInput {
  readonly name: string;
  readonly port?: number | undefined;
  readonly user?: string | undefined;
  readonly identityFile?: string | undefined;
  readonly agent?: boolean | undefined;
  readonly hostKey?: SshTargetSpec['hostKey'];
  /** The route is decided elsewhere (inventory proxyJump, or a later hop): ssh_config's ProxyJump/ProxyCommand do not matter. */
  readonly routeGiven?: boolean;
}

interface Fallbacks {
  /** Credentials and known_hosts a hop borrows from its node when ssh_config names none for the hop. */
  readonly identityFiles: readonly string[];
  readonly identityFromInventory: boolean;
  readonly agentUse: AgentUse;
  readonly knownHosts: string;
}

/** ssh_config(5), IdentityFile: "The default is ~/.ssh/id_rsa, ~/.ssh/id_ecdsa, ~/.ssh/id_ecdsa_sk, ~/.ssh/id_ed25519 and ~/.ssh/id_ed25519_sk" (OpenSSH 9.x, same order). */
export const DEFAULT_IDENTITY_NAMES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'] as const;

function first(options: ReadonlyMap<string, readonly string[]>, key: string): string | undefined {
  return options.get(key)?.[0];
}

function resolveEndpoint(input: EndpointInput, config: SshConfig | undefined, ctx: ResolveContext, notes: string[], fallback?: Fallbacks): { endpoint: ResolvedEndpoint; proxyJump?: string } {
  const raw = config ? evaluateSshConfig(config, { host: input.name, localUser: ctx.localUser, ...(input.user ? { user: input.user } : {}) }) : undefined;
  const opts = raw?.options ?? new Map<string, readonly string[]>();
  notes.push(...(raw?.notes ?? []));
  const where = `ssh_config for ${input.name}`;

  const hostNameRaw = first(opts, 'hostname');
  const host = hostNameRaw === undefined ? input.name : hostNameRaw.replace(/%(%|h)/g, (_, t: string) => (t === '%' ? '%' : input.name));
  if (!HOST_NAME.test(host)) throw configError(`${where}: HostName ${JSON.stringify(host.slice(0, 80))} is not a host name or address`, 'fix HostName in ssh_config');

  const portRaw = first(opts, 'port');
  const port = input.port ?? (portRaw === undefined ? 22 : Number(portRaw));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw configError(`${where}: Port ${JSON.stringify(portRaw)} is not a port number`, 'fix Port in ssh_config');

  const user = input.user ?? first(opts, 'user') ?? DEFAULT_USER;
  if (!CONFIG_USER.test(user)) throw configError(`${where}: User ${JSON.stringify(user.slice(0, 80))} is not a user name`, 'fix User in ssh_config or set ssh.user');

  const tokens: TokenContext = { home: ctx.home, localUser: ctx.localUser, originalHost: input.name, hostName: host, user, port, env: ctx.env };
  const expand = (value: string, what: string): string => {
    const v = expandPathValue(value, tokens);
    if (v instanceof Error) throw configError(`${where}: ${what}: ${v.message}`, `fix ${what} in ssh_config`);
    return v;
  };

  // Keys: the inventory's file; else ssh_config's IdentityFile lines; else (hops) the node's.
  const configKeys = (opts.get('identityfile') ?? []).filter((f) => f.toLowerCase() !== 'none').map((f) => expand(f, 'IdentityFile'));
  const identityFromInventory = input.identityFile !== undefined || (configKeys.length === 0 && (fallback?.identityFromInventory ?? false));
  const identityFiles = input.identityFile !== undefined ? [input.identityFile] : configKeys.length > 0 ? configKeys : fallback?.identityFiles ?? [];

  const identitiesOnly = first(opts, 'identitiesonly')?.toLowerCase() === 'yes';
  const agentRaw = first(opts, 'identityagent');
  const agentSocket = agentRaw === undefined || agentRaw === 'SSH_AUTH_SOCK' ? ctx.env.SSH_AUTH_SOCK : agentRaw.toLowerCase() === 'none' ? undefined : expand(agentRaw.replace(/^\$([A-Za-z_][A-Za-z0-9_]*)$/, '${$1}'), 'IdentityAgent');
  let agentUse: AgentUse;
  if (input.agent !== undefined) agentUse = input.agent ? 'always' : 'never';
  else if (identitiesOnly && identityFiles.length > 0) agentUse = 'never';
  else agentUse = fallback?.agentUse ?? 'fallback';

  let hostKey: HostKeyPolicy;
  let hostKeyAlias: string | undefined;
  if (input.hostKey && 'fingerprint' in input.hostKey) {
    hostKey = { fingerprint: input.hostKey.fingerprint };
  } else {
    let file = input.hostKey?.knownHosts;
    if (file === undefined) {
      const listed = (opts.get('userknownhostsfile') ?? []).map((f) => expand(f, 'UserKnownHostsFile'));
      // `/dev//null`, `/dev/./null` are /dev/null too; links and other devices are refused where the file is opened (file-trust.ts).
      const usable = listed.find((f) => posix.normalize(f) !== '/dev/null' && f.toLowerCase() !== 'none');
      if (listed.length > 0 && usable === undefined) notes.push(`${where}: UserKnownHostsFile ${listed.join(' ')} would turn host key checks off; using ${fallback?.knownHosts ?? DEFAULT_KNOWN_HOSTS} instead`);
      if (listed.length > 1 && usable !== undefined) notes.push(`${where}: only the first UserKnownHostsFile (${usable}) is read`);
      file = usable ?? fallback?.knownHosts ?? DEFAULT_KNOWN_HOSTS;
    }
    hostKey = { knownHosts: file, acceptNew: ctx.acceptNewHostKeys };
    const alias = first(opts, 'hostkeyalias');
    if (alias !== undefined) {
      if (!HOST_NAME.test(alias)) throw configError(`${where}: HostKeyAlias ${JSON.stringify(alias.slice(0, 80))} is not a host name`, 'fix HostKeyAlias in ssh_config');
      hostKeyAlias = alias;
    }
  }
  const strict = first(opts, 'stricthostkeychecking')?.toLowerCase();
  if (strict === 'no' || strict === 'off' || strict === 'accept-new') {
    notes.push(`${where}: StrictHostKeyChecking ${strict} is ignored; host keys are always checked (use --accept-new-host-keys to learn new ones)`);
  }

  const proxyJump = first(opts, 'proxyjump');
  const proxyCommand = first(opts, 'proxycommand');
  if (!input.routeGiven && proxyJump === undefined && proxyCommand !== undefined && proxyCommand.toLowerCase() !== 'none') {
    throw configError(`${where} sets ProxyCommand, which pve-passthrough does not run`, 'use ProxyJump in ssh_config, or set ssh.proxyJump (or "none") in the inventory');
  }
  const endpoint: ResolvedEndpoint = {
    name: input.name, host, port, user, identityFiles, identityFromInventory, agentUse, hostKey,
    defaultIdentityFiles: DEFAULT_IDENTITY_NAMES.map((f) => posix.join(ctx.home, '.ssh', f)),
    ...(agentSocket !== undefined ? { agentSocket } : {}),
    ...(hostKeyAlias !== undefined ? { hostKeyAlias } : {}),
  };
  return { endpoint, ...(proxyJump !== undefined ? { proxyJump } : {}) };
}

/**
 * The route to `spec` as OpenSSH builds it for `ProxyJump a,b`: the first hop
 * with its own ssh_config (its own ProxyJump too), the later hops with theirs
 * except ProxyJump, each hop checked against its own known_hosts entry.
 */
function resolveRoute(
  proxyJump: string | undefined, config: SshConfig | undefined, ctx: ResolveContext, notes: string[], fallback: Fallbacks, seen: readonly string[],
): ResolvedEndpoint[] {
  if (proxyJump === undefined) return [];
  const hops = parseProxyJump(proxyJump);
  const route: ResolvedEndpoint[] = [];
  hops.forEach((hop, i) => {
    const key = `${hop.host.toLowerCase()}:${hop.port ?? ''}`;
    if (seen.includes(key)) throw configError(`ProxyJump loops back to ${hop.host}`, 'fix the ProxyJump chain in ssh_config');
    const { endpoint, proxyJump: own } = resolveEndpoint({ name: hop.host, port: hop.port, user: hop.user, routeGiven: i > 0 }, config, ctx, notes, fallback);
    if (i === 0) route.push(...resolveRoute(own, config, ctx, notes, fallback, [...seen, key]));
    route.push(endpoint);
  });
  if (route.length > MAX_HOPS) throw configError(`the ProxyJump route has ${route.length} hops (at most ${MAX_HOPS})`, 'shorten the ProxyJump chain');
  return route;
}

export function resolveSshTarget(spec: SshTargetSpec, config: SshConfig | undefined, ctx: ResolveContext): ResolvedTarget {
  const notes: string[] = [];
  const { endpoint, proxyJump } = resolveEndpoint(
    { name: spec.host, port: spec.port, user: spec.user, identityFile: spec.identityFile, agent: spec.agent, hostKey: spec.hostKey, routeGiven: spec.proxyJump !== undefined },
    config, ctx, notes,
  );
  const fallback: Fallbacks = {
    identityFiles: endpoint.identityFiles,
    identityFromInventory: endpoint.identityFromInventory,
    agentUse: endpoint.agentUse,
    knownHosts: 'knownHosts' in endpoint.hostKey ? endpoint.hostKey.knownHosts : DEFAULT_KNOWN_HOSTS,
  };
  const jumps = resolveRoute(spec.proxyJump ?? proxyJump, config, ctx, notes, fallback, [`${spec.host.toLowerCase()}:${spec.port ?? ''}`]);
  return { ...endpoint, jumps, notes: [...new Set(notes)] };
}
