/**
 * The PVE API core, one per cluster: undici over a keep-alive Agent (TLS pin,
 * CA file or system CAs), token or ticket auth, GET retries with backoff,
 * `{data}` unwrapped and validated, typed errors, task waiting. It knows no
 * endpoint: those are the small functions in ./endpoints/.
 */
import { request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { ApiError, InputError, redact, type ErrorContext } from '../../errors.js';
import { isUpid, parseUpid } from '../../formats/upid.js';
import { httpError, transportError } from './http-errors.js';
import { TaskLogShape, TaskStatusShape } from './schemas.js';
import { TicketSession } from './session.js';
import { makeAgent } from './tls.js';
import type { PveClientOptions, TaskResult, TaskStatus, WaitOptions } from './types.js';
import { ErrorCode } from '../../error-codes.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type FormValue = string | number | boolean | readonly string[] | undefined;
export type Form = Readonly<Record<string, FormValue>>;
/** `root`: the root@pam ticket kept for the writes only root may do. */
export type Identity = 'main' | 'root';

export interface CallOptions {
  readonly query?: Form;
  readonly form?: Form;
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
    super(ErrorCode.TASK_FAILED, message, null, {}, ctx);
  }
}

/** OK and `WARNINGS: n` are success (pve-common status_is_error). */
export function taskSucceeded(exitstatus: string | undefined): boolean {
  return exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus ?? '');
}

const RETRY_STATUS = new Set([502, 503, 504]);
/** A path segment from a value (node names, mapping ids, UPIDs). */
export const seg = encodeURIComponent;

function toParams(values: Form): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) p.append(k, item);
    else if (typeof v === 'boolean') p.append(k, v ? '1' : '0');
    else p.append(k, String(v));
  }
  return p;
}

export class PveCore {
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
    if (url.protocol !== 'https:') throw new InputError(`the API URL must be https:// (got ${url.protocol})`);
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
  get mainIsRoot(): boolean {
    return this.session?.username === 'root@pam';
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Error context with the cluster name. */
  context(extra?: ErrorContext): ErrorContext {
    return { ...(this.opts.cluster ? { cluster: this.opts.cluster } : {}), ...extra };
  }

  private secrets(): string[] {
    return [...this.staticSecrets, ...(this.session?.secrets() ?? []), ...(this.rootSession?.secrets() ?? [])];
  }

  // ---- reads and writes ---------------------------------------------------

  /**
   * GET and validate: an answer that does not fit `shape` is an
   * E_API_RESPONSE naming the endpoint and the first field that is wrong,
   * never a default.
   */
  async read<S extends z.ZodType>(path: string, shape: S, o: Omit<CallOptions, 'form'> = {}): Promise<z.output<S>> {
    return this.validate(shape, (await this.call('GET', path, o)).data, `GET ${path}`, o.ctx);
  }

  validate<S extends z.ZodType>(shape: S, data: unknown, what: string, ctx?: ErrorContext): z.output<S> {
    const r = shape.safeParse(data);
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : '(top)';
      throw new ApiError(ErrorCode.API_RESPONSE, `${what}: unexpected answer at ${where}: ${issue?.message ?? 'invalid'}`, null, {}, this.context(ctx));
    }
    return r.data;
  }

  /** A write whose answer carries nothing we use (null, or an id we do not need). */
  async write(method: Exclude<Method, 'GET'>, path: string, form: Form, ctx: ErrorContext): Promise<void> {
    await this.call(method, path, { form, ctx });
  }

  /** A write that starts a task: waits for it (null when PVE finished synchronously). */
  async task(method: Exclude<Method, 'GET'>, path: string, form: Form, ctx: ErrorContext, wait: WaitOptions, identity: Identity = 'main'): Promise<TaskResult | null> {
    const env = await this.call(method, path, { form, identity, ctx });
    if (env.data === null || env.data === undefined) return null;
    if (!isUpid(env.data)) throw new ApiError(ErrorCode.API_RESPONSE, `${method} ${path}: expected a task id, got ${typeof env.data}`, null, {}, this.context(ctx));
    return this.waitTask(env.data, { ...wait, identity });
  }

  // ---- tasks --------------------------------------------------------------

  async taskStatus(upid: string, identity: Identity = 'main'): Promise<TaskStatus> {
    const { node } = parseUpid(upid);
    return this.read(`/nodes/${seg(node)}/tasks/${seg(upid)}/status`, TaskStatusShape, { identity, ctx: { node } });
  }

  /** The last `lines` lines of a task log. */
  async taskLog(upid: string, lines = 10, identity: Identity = 'main'): Promise<string[]> {
    const { node } = parseUpid(upid);
    const path = `/nodes/${seg(node)}/tasks/${seg(upid)}/log`;
    let env = await this.call('GET', path, { identity, query: { start: 0, limit: 500 }, ctx: { node } });
    if (env.total !== undefined && env.total > 500) {
      env = await this.call('GET', path, { identity, query: { start: env.total - lines, limit: lines }, ctx: { node } });
    }
    const log = this.validate(TaskLogShape, env.data, `GET ${path}`, { node });
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
        upid, safeExit, tail, this.context({ node }),
      );
    }
    throw new ApiError(ErrorCode.API_TIMEOUT, `task ${type} on ${node} still running after ${polls * pollMs} ms`, null, {}, this.context({ node }));
  }

  // ---- HTTP, auth, retries ------------------------------------------------

  private async send(method: Method, path: string, headers: Record<string, string>, query?: URLSearchParams, body?: URLSearchParams, ctx?: ErrorContext): Promise<Envelope> {
    const qs = query && [...query.keys()].length > 0 ? `?${query.toString()}` : '';
    const what = `${method} ${path}`;
    this.requestCount++;
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await request(`${this.origin}/api2/json${path}${qs}`, {
        method,
        dispatcher: this.dispatcher,
        headers: body ? { ...headers, 'content-type': 'application/x-www-form-urlencoded' } : headers,
        ...(body ? { body: body.toString() } : {}),
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      text = await res.body.text();
    } catch (err) {
      throw transportError(err, what, this.host, this.context(ctx), this.secrets());
    }
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      json = {};
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw httpError({ status: res.statusCode, statusText: res.statusText ?? '', body: json, method, path }, this.context(ctx), this.secrets());
    }
    if (!json || typeof json !== 'object' || !('data' in json)) {
      throw new ApiError(ErrorCode.API_RESPONSE, `${what}: the answer has no "data" field`, res.statusCode, {}, this.context(ctx));
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
      if (!this.rootSession) throw new InputError('no rootTicket configured', [], this.context());
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
        if (err.code === ErrorCode.API_AUTH && err.status === 401 && session && !reauthed && path !== '/access/ticket') {
          reauthed = true;
          session.invalidate();
          attempt--;
          continue;
        }
        const retryable = err.code === ErrorCode.API_NETWORK || (err.status !== null && RETRY_STATUS.has(err.status));
        if (method !== 'GET' || !retryable || attempt >= attempts) throw err;
        await this.sleep(baseDelay * 2 ** (attempt - 1));
      }
    }
  }
}
