/**
 * PveClient: one per cluster. undici over a keep-alive Agent (TLS pin, CA file
 * or system CAs), token or ticket auth, GET retries with backoff, `{data}`
 * unwrapped, typed errors, task waiting. The root rule (raw host= hostpci) is
 * enforced here, before anything is sent.
 */
import { request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { ApiError, redact, type ErrorContext } from '../../errors.js';
import { isUpid, parseUpid } from '../../formats/upid.js';
import { httpError, transportError } from './http-errors.js';
import { ROOT_RULE_MESSAGE, touchedHostpci, writeNeedsRoot } from './root-rule.js';
import {
  ClusterStatusShape, HardwarePciShape, PciMappingShape, QemuMachinesShape, PendingShape, TaskLogShape, TaskStatusShape, VmConfigShape, VmStatusShape,
} from './schemas.js';
import { TicketSession } from './session.js';
import { makeAgent } from './tls.js';
import type {
  ClusterStatusItem, HardwarePciDevice, PciMappingInfo, PendingItem, PveClientOptions, TaskResult, TaskStatus, VmConfig, VmStatus, WaitOptions,
} from './types.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type FormValue = string | number | boolean | readonly string[] | undefined;
type Identity = 'main' | 'root';

interface CallOptions {
  readonly query?: Readonly<Record<string, FormValue>>;
  readonly form?: Readonly<Record<string, FormValue>>;
  readonly identity?: Identity;
  readonly ctx?: ErrorContext;
}

interface Envelope {
  readonly data: unknown;
  readonly total?: number;
}

/** A task that ended with anything but OK / WARNINGS: n. */
export class TaskFailedError extends ApiError {
  constructor(message: string, readonly upid: string, readonly exitstatus: string, readonly log: readonly string[], ctx: ErrorContext) {
    super('E_TASK_FAILED', message, null, {}, ctx);
  }
}

/** OK and `WARNINGS: n` are success (pve-common status_is_error). */
export function taskSucceeded(exitstatus: string | undefined): boolean {
  return exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus ?? '');
}

const RETRY_STATUS = new Set([502, 503, 504]);
const seg = encodeURIComponent;

function toParams(values: Readonly<Record<string, FormValue>>): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) p.append(k, item);
    else if (typeof v === 'boolean') p.append(k, v ? '1' : '0');
    else p.append(k, String(v));
  }
  return p;
}

export class PveClient {
  /** HTTP requests sent so far (logins included), for benchmarks. */
  requestCount = 0;

  private readonly origin: string;
  private readonly host: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly tokenHeader: string | undefined;
  private readonly session: TicketSession | undefined;
  private readonly rootSession: TicketSession | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly staticSecrets: string[];

  constructor(private readonly opts: PveClientOptions) {
    const url = new URL(opts.baseUrl);
    if (url.protocol !== 'https:') throw new ApiError('E_INPUT', `the API URL must be https:// (got ${url.protocol})`, null);
    this.origin = url.origin;
    this.host = url.host;
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher = opts.dispatcher ?? makeAgent(opts.tls, opts.timeoutMs, opts.cluster);
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const now = opts.now ?? Date.now;
    const post = (path: string, form: URLSearchParams): Promise<unknown> => this.loginPost(path, form);
    if ('token' in opts.auth) {
      this.tokenHeader = `PVEAPIToken=${opts.auth.token.id}=${opts.auth.token.secret}`;
      this.staticSecrets = [opts.auth.token.secret];
    } else {
      const t = opts.auth.ticket;
      this.session = new TicketSession(t.username, t.password, t.totp, post, now);
      this.staticSecrets = [t.password];
    }
    if (opts.rootTicket) {
      this.rootSession = new TicketSession('root@pam', opts.rootTicket.password, opts.rootTicket.totp, post, now);
      this.staticSecrets.push(opts.rootTicket.password);
    }
  }

  get authKind(): 'token' | 'ticket' {
    return this.tokenHeader ? 'token' : 'ticket';
  }
  get hasRootTicket(): boolean {
    return this.rootSession !== undefined;
  }
  /** The main identity itself is root@pam with a ticket. */
  private get mainIsRoot(): boolean {
    return this.session?.username === 'root@pam';
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private secrets(): string[] {
    return [...this.staticSecrets, ...(this.session?.secrets() ?? []), ...(this.rootSession?.secrets() ?? [])];
  }

  private ctx(extra?: ErrorContext): ErrorContext {
    return { ...(this.opts.cluster ? { cluster: this.opts.cluster } : {}), ...extra };
  }

  // ---- transport ----------------------------------------------------------

  private async send(method: Method, path: string, headers: Record<string, string>, query?: URLSearchParams, body?: URLSearchParams, ctx?: ErrorContext): Promise<Envelope> {
    const qs = query && [...query.keys()].length > 0 ? `?${query.toString()}` : '';
    const what = `${method} ${path}`;
    this.requestCount++;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.origin}/api2/json${path}${qs}`, {
        method,
        dispatcher: this.dispatcher,
        headers: body ? { ...headers, 'content-type': 'application/x-www-form-urlencoded' } : headers,
        ...(body ? { body: body.toString() } : {}),
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
    } catch (err) {
      throw transportError(err, what, this.host, this.ctx(ctx), this.secrets());
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw transportError(err, what, this.host, this.ctx(ctx), this.secrets());
    }
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      json = {};
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw httpError({ status: res.statusCode, statusText: res.statusText ?? '', body: json, method, path }, this.ctx(ctx), this.secrets());
    }
    if (!json || typeof json !== 'object' || !('data' in json)) {
      throw new ApiError('E_API_RESPONSE', `${what}: the answer has no "data" field`, res.statusCode, {}, this.ctx(ctx));
    }
    const env = json as { data: unknown; total?: unknown };
    return { data: env.data, ...(typeof env.total === 'number' ? { total: env.total } : {}) };
  }

  /** Login posts go out without auth headers and are never retried. */
  private async loginPost(path: string, form: URLSearchParams): Promise<unknown> {
    return (await this.send('POST', path, {}, undefined, form)).data;
  }

  private async authHeaders(identity: Identity, write: boolean): Promise<Record<string, string>> {
    if (identity === 'root') {
      if (!this.rootSession) throw new ApiError('E_INPUT', 'no rootTicket configured', null, {}, this.ctx());
      return this.rootSession.headers(write);
    }
    if (this.tokenHeader) return { authorization: this.tokenHeader };
    return (this.session as TicketSession).headers(write);
  }

  private async call(method: Method, path: string, o: CallOptions = {}): Promise<Envelope> {
    const identity = o.identity ?? 'main';
    const write = method !== 'GET';
    const query = o.query ? toParams(o.query) : undefined;
    const body = o.form ? toParams(o.form) : undefined;
    const attempts = method === 'GET' ? Math.max(1, this.opts.retries?.attempts ?? 3) : 1;
    const baseDelay = this.opts.retries?.baseDelayMs ?? 250;
    let reauthed = false;
    for (let attempt = 1; ; attempt++) {
      // Outside the try: a failed login is reported as is, not retried as an expired ticket.
      const headers = await this.authHeaders(identity, write);
      try {
        return await this.send(method, path, headers, query, body, o.ctx);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        const session = identity === 'root' ? this.rootSession : this.session;
        // An expired or revoked ticket: a 401 means nothing was done, so log in again once.
        if (err.code === 'E_API_AUTH' && err.status === 401 && session && !reauthed && path !== '/access/ticket') {
          reauthed = true;
          session.invalidate();
          attempt--;
          continue;
        }
        const retryable = err.code === 'E_API_NETWORK' || (err.status !== null && RETRY_STATUS.has(err.status));
        if (method !== 'GET' || !retryable || attempt >= attempts) throw err;
        await this.sleep(baseDelay * 2 ** (attempt - 1));
      }
    }
  }

  private parse<S extends z.ZodType>(shape: S, data: unknown, what: string, ctx?: ErrorContext): z.output<S> {
    const r = shape.safeParse(data);
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : '(top)';
      throw new ApiError('E_API_RESPONSE', `${what}: unexpected answer at ${where}: ${issue?.message ?? 'invalid'}`, null, {}, this.ctx(ctx));
    }
    return r.data;
  }

  private async get(path: string, query?: Record<string, FormValue>, ctx?: ErrorContext): Promise<unknown> {
    return (await this.call('GET', path, { ...(query ? { query } : {}), ...(ctx ? { ctx } : {}) })).data;
  }

  // ---- reads --------------------------------------------------------------

  async version(): Promise<{ version: string; release?: string; repoid?: string }> {
    return (await this.get('/version')) as { version: string; release?: string; repoid?: string };
  }

  async clusterStatus(): Promise<ClusterStatusItem[]> {
    return this.parse(ClusterStatusShape, await this.get('/cluster/status'), 'GET /cluster/status') as ClusterStatusItem[];
  }

  async resources(type: 'vm' | 'node' | 'storage' | 'sdn' = 'vm'): Promise<Array<Record<string, unknown>>> {
    const data = await this.get('/cluster/resources', { type });
    return Array.isArray(data) ? (data as Array<Record<string, unknown>>) : [];
  }

  async haResources(): Promise<Array<Record<string, unknown>>> {
    const data = await this.get('/cluster/ha/resources');
    return Array.isArray(data) ? (data as Array<Record<string, unknown>>) : [];
  }

  async nodes(): Promise<Array<{ node: string; status: string; ssl_fingerprint?: string; uptime?: number }>> {
    const data = await this.get('/nodes');
    return Array.isArray(data) ? (data as Array<{ node: string; status: string }>) : [];
  }

  async vmConfig(node: string, vmid: number, o: { current?: boolean } = {}): Promise<VmConfig> {
    const path = `/nodes/${seg(node)}/qemu/${vmid}/config`;
    const ctx = { node, vmid };
    return this.parse(VmConfigShape, await this.get(path, o.current ? { current: true } : undefined, ctx), `GET ${path}`, ctx);
  }

  async vmPending(node: string, vmid: number): Promise<PendingItem[]> {
    const path = `/nodes/${seg(node)}/qemu/${vmid}/pending`;
    return this.parse(PendingShape, await this.get(path, undefined, { node, vmid }), `GET ${path}`) as PendingItem[];
  }

  async vmStatus(node: string, vmid: number): Promise<VmStatus> {
    const path = `/nodes/${seg(node)}/qemu/${vmid}/status/current`;
    return this.parse(VmStatusShape, await this.get(path, undefined, { node, vmid }), `GET ${path}`) as VmStatus;
  }

  async hardwarePci(node: string): Promise<HardwarePciDevice[]> {
    const path = `/nodes/${seg(node)}/hardware/pci`;
    // An empty blacklist lists every class (bridges and all), as the GUI's mapping view does.
    return this.parse(HardwarePciShape, await this.get(path, { 'pci-class-blacklist': '' }, { node }), `GET ${path}`) as HardwarePciDevice[];
  }

  /** GET /nodes/{node}/capabilities/qemu/machines (any user): the machine types the node's QEMU offers, newest first. */
  async qemuMachines(node: string): Promise<{ id: string; type: string; version?: string }[]> {
    const path = `/nodes/${seg(node)}/capabilities/qemu/machines`;
    return this.parse(QemuMachinesShape, await this.get(path, undefined, { node }), `GET ${path}`) as { id: string; type: string; version?: string }[];
  }

  async pciMappings(): Promise<PciMappingInfo[]> {
    const data = await this.get('/cluster/mapping/pci');
    return (Array.isArray(data) ? data : []).map((m) => this.parse(PciMappingShape, m, 'GET /cluster/mapping/pci') as PciMappingInfo);
  }

  async pciMapping(id: string): Promise<PciMappingInfo> {
    const path = `/cluster/mapping/pci/${seg(id)}`;
    return this.parse(PciMappingShape, { id, ...(await this.get(path)) as object }, `GET ${path}`) as PciMappingInfo;
  }

  // ---- tasks --------------------------------------------------------------

  async taskStatus(upid: string, identity: Identity = 'main'): Promise<TaskStatus> {
    const { node } = parseUpid(upid);
    const path = `/nodes/${seg(node)}/tasks/${seg(upid)}/status`;
    const env = await this.call('GET', path, { identity, ctx: { node } });
    return this.parse(TaskStatusShape, env.data, `GET ${path}`, { node }) as TaskStatus;
  }

  /** The last `lines` lines of a task log. */
  async taskLog(upid: string, lines = 10, identity: Identity = 'main'): Promise<string[]> {
    const { node } = parseUpid(upid);
    const path = `/nodes/${seg(node)}/tasks/${seg(upid)}/log`;
    let env = await this.call('GET', path, { identity, query: { start: 0, limit: 500 }, ctx: { node } });
    if (env.total !== undefined && env.total > 500) {
      env = await this.call('GET', path, { identity, query: { start: env.total - lines, limit: lines }, ctx: { node } });
    }
    const log = this.parse(TaskLogShape, env.data, `GET ${path}`);
    return log.map((l) => l.t).filter((t) => t !== 'TASK OK').slice(-lines);
  }

  /**
   * Poll a task until it stops. OK / `WARNINGS: n` succeed; anything else is a
   * TaskFailedError with the exitstatus and the last log lines.
   */
  async waitTask(upid: string, o: WaitOptions & { identity?: Identity } = {}): Promise<TaskResult> {
    const { node, type } = parseUpid(upid);
    const pollMs = o.pollMs ?? 1000;
    const polls = Math.max(1, Math.ceil((o.timeoutMs ?? 600_000) / pollMs));
    const identity = o.identity ?? 'main';
    for (let i = 0; i < polls; i++) {
      if (i > 0) await this.sleep(pollMs);
      const st = await this.taskStatus(upid, identity);
      if (st.status !== 'stopped') continue;
      const exit = st.exitstatus ?? 'unexpected status';
      if (taskSucceeded(exit)) return { upid, exitstatus: exit };
      const log = await this.taskLog(upid, 10, identity).catch(() => [] as string[]);
      const safeExit = redact(exit, this.secrets());
      const tail = log.map((l) => redact(l, this.secrets()));
      throw new TaskFailedError(
        `task ${type} on ${node} failed: ${safeExit}${tail.length ? ` (log: ${tail.join(' | ')})` : ''}`,
        upid, safeExit, tail, this.ctx({ node }),
      );
    }
    throw new ApiError('E_API_TIMEOUT', `task ${type} on ${node} still running after ${polls * pollMs} ms`, null, {}, this.ctx({ node }));
  }

  private async runTask(method: Method, path: string, form: Record<string, FormValue>, ctx: ErrorContext, wait: WaitOptions, identity: Identity = 'main'): Promise<TaskResult | null> {
    const env = await this.call(method, path, { form, identity, ctx });
    if (env.data === null || env.data === undefined) return null; // finished synchronously
    if (!isUpid(env.data)) throw new ApiError('E_API_RESPONSE', `${method} ${path}: expected a task id, got ${typeof env.data}`, null, {}, this.ctx(ctx));
    return this.waitTask(env.data, { ...wait, identity });
  }

  // ---- writes -------------------------------------------------------------

  /**
   * POST …/config (async; waits for the task). Raw host= hostpci writes go
   * through the root@pam ticket, or are refused before sending without one.
   * `before` is the current config; it is read when needed and not given.
   */
  async updateVmConfig(
    node: string,
    vmid: number,
    change: { set: Readonly<Record<string, string>>; delete: readonly string[]; digest?: string; before?: Readonly<Record<string, string>> },
    wait: WaitOptions = {},
  ): Promise<TaskResult | null> {
    const ctx = { node, vmid, step: 'update VM config' };
    const overlap = change.delete.filter((k) => k in change.set);
    if (overlap.length) throw new ApiError('E_INPUT', `cannot set and delete ${overlap.join(', ')} at once`, null, {}, this.ctx(ctx));
    if (Object.keys(change.set).length === 0 && change.delete.length === 0) throw new ApiError('E_INPUT', 'no options to change', null, {}, this.ctx(ctx));
    let identity: Identity = 'main';
    if (!this.mainIsRoot && touchedHostpci(change.set, change.delete).length > 0) {
      const before = change.before ?? (await this.vmConfig(node, vmid)).config;
      if (writeNeedsRoot(change.set, change.delete, before)) {
        if (!this.rootSession) throw new ApiError('E_API_ROOT_ONLY', ROOT_RULE_MESSAGE, null, {}, this.ctx(ctx));
        identity = 'root';
      }
    }
    const form: Record<string, FormValue> = { ...change.set };
    if (change.delete.length) form.delete = change.delete.join(',');
    if (change.digest) form.digest = change.digest;
    return this.runTask('POST', `/nodes/${seg(node)}/qemu/${vmid}/config`, form, ctx, wait, identity);
  }

  async shutdownVm(node: string, vmid: number, o: { timeout: number; forceStop: boolean }, wait: WaitOptions = {}): Promise<TaskResult | null> {
    return this.runTask('POST', `/nodes/${seg(node)}/qemu/${vmid}/status/shutdown`, { timeout: o.timeout, forceStop: o.forceStop },
      { node, vmid, step: 'shutdown' }, { timeoutMs: (o.timeout + 60) * 1000, ...wait });
  }

  async stopVm(node: string, vmid: number, o: { timeout?: number } = {}, wait: WaitOptions = {}): Promise<TaskResult | null> {
    return this.runTask('POST', `/nodes/${seg(node)}/qemu/${vmid}/status/stop`, { timeout: o.timeout }, { node, vmid, step: 'stop' }, wait);
  }

  async startVm(node: string, vmid: number, o: { timeout?: number } = {}, wait: WaitOptions = {}): Promise<TaskResult | null> {
    return this.runTask('POST', `/nodes/${seg(node)}/qemu/${vmid}/status/start`, { timeout: o.timeout }, { node, vmid, step: 'start' }, wait);
  }

  async createPciMapping(m: { id: string; map: readonly string[]; description?: string; mdev?: boolean; 'live-migration-capable'?: boolean }): Promise<void> {
    await this.call('POST', '/cluster/mapping/pci', {
      form: { id: m.id, map: m.map, description: m.description, mdev: bit(m.mdev), 'live-migration-capable': bit(m['live-migration-capable']) },
      ctx: { step: `create mapping ${m.id}` },
    });
  }

  async updatePciMapping(id: string, m: { map: readonly string[]; description?: string; digest?: string; mdev?: boolean; 'live-migration-capable'?: boolean }): Promise<void> {
    await this.call('PUT', `/cluster/mapping/pci/${seg(id)}`, {
      form: { map: m.map, description: m.description, digest: m.digest, mdev: bit(m.mdev), 'live-migration-capable': bit(m['live-migration-capable']) },
      ctx: { step: `update mapping ${id}` },
    });
  }

  /** POST /nodes/{node}/status command=reboot: returns at once; no task exists. */
  async rebootNode(node: string): Promise<void> {
    await this.call('POST', `/nodes/${seg(node)}/status`, { form: { command: 'reboot' }, ctx: { node, step: 'reboot' } });
  }
}

/** Booleans go to the API as 1/0 (absent stays absent). */
function bit(v: boolean | undefined): string | undefined {
  return v === undefined ? undefined : v ? '1' : '0';
}
