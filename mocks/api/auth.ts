/**
 * Authentication as pveproxy does it: API tokens in the Authorization
 * header, tickets from POST /access/ticket (with TOTP as a second step) in
 * the PVEAuthCookie cookie or header, CSRF tokens for ticket writes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SimTokenSpec, SimUserSpec } from './types.js';
import { verifyTotp } from './totp.js';

export interface AuthIdentity {
  /** `root@pam` or `svc@pve!deploy`: what root checks and UPIDs see. */
  readonly authid: string;
  /** `svc@pve` */
  readonly user: string;
  readonly tokenid?: string;
  readonly kind: 'token' | 'ticket';
  /** undefined = every privilege */
  readonly privs?: ReadonlySet<string>;
  readonly csrf?: string;
}

interface TicketRecord {
  readonly user: string;
  readonly csrf: string;
  readonly issuedAt: number;
  /** Issued after the password step of a TFA user: good only for the TFA step. */
  readonly partial: boolean;
}

export type AuthResult = { ok: true; identity: AuthIdentity } | { ok: false; message: string; tokenUsed: boolean };

export interface TicketAnswer {
  username: string;
  ticket: string;
  CSRFPreventionToken: string;
  clustername?: string;
  cap: Record<string, Record<string, 1>>;
  NeedTFA?: 1;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

function headerValue(headers: Headers, name: string): string | undefined {
  return headers.get(name) ?? undefined;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Formatter.pm extract_auth_value: after `NAME=` or `NAME `, up to `;`, URL-decoded. */
export function extractAuthValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const m = new RegExp(`(?:^|\\s|;)${name}[= ]([^;]*)`).exec(header);
  return m ? decode((m[1] as string).trim()) : undefined;
}

export class AuthRegistry {
  private readonly users = new Map<string, SimUserSpec>();
  private readonly tokens = new Map<string, SimTokenSpec>();
  private readonly tickets = new Map<string, TicketRecord>();

  constructor(
    users: readonly SimUserSpec[],
    tokens: readonly SimTokenSpec[],
    private readonly opts: { now: () => number; ticketLifetimeMs: number; clusterName?: string },
  ) {
    for (const u of users) this.users.set(u.userid, u);
    for (const t of tokens) this.tokens.set(t.tokenid, t);
  }

  addUser(user: SimUserSpec): void {
    this.users.set(user.userid, user);
  }

  addToken(token: SimTokenSpec): void {
    this.tokens.set(token.tokenid, token);
  }

  private issue(user: string, partial: boolean): { ticket: string; csrf: string } {
    const now = this.opts.now();
    const stamp = Math.floor(now / 1000).toString(16).toUpperCase().padStart(8, '0');
    const prefix = partial ? `PVE:!tfa!${user}` : `PVE:${user}`;
    const ticket = `${prefix}:${stamp}::${randomBytes(48).toString('base64')}`;
    const csrf = `${stamp}:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    this.tickets.set(ticket, { user, csrf, issuedAt: now, partial });
    return { ticket, csrf };
  }

  private validTicket(ticket: string): TicketRecord | undefined {
    const rec = this.tickets.get(ticket);
    if (!rec) return undefined;
    if (this.opts.now() - rec.issuedAt > this.opts.ticketLifetimeMs) return undefined;
    return rec;
  }

  private answer(user: string, partial: boolean): TicketAnswer {
    const { ticket, csrf } = this.issue(user, partial);
    const out: TicketAnswer = { username: user, ticket, CSRFPreventionToken: csrf, cap: partial ? {} : { vms: { 'VM.Audit': 1 } } };
    if (this.opts.clusterName !== undefined && !partial) out.clustername = this.opts.clusterName;
    if (partial) out.NeedTFA = 1;
    return out;
  }

  /**
   * POST /access/ticket. Returns undefined for any failure (the caller answers
   * 401 `authentication failure`, never saying why).
   */
  login(params: { username?: string; realm?: string; password?: string; 'tfa-challenge'?: string }): TicketAnswer | undefined {
    const { password } = params;
    let username = params.username;
    if (username === undefined || password === undefined) return undefined;
    if (!username.includes('@') && params.realm !== undefined) username = `${username}@${params.realm}`;
    const user = this.users.get(username);
    if (!user) return undefined;

    const challenge = params['tfa-challenge'];
    if (challenge !== undefined) {
      const rec = this.validTicket(challenge);
      if (!rec || !rec.partial || rec.user !== username) return undefined;
      const m = /^totp:(\d{6})$/.exec(password);
      if (!m || !this.totpOk(user, m[1] as string)) return undefined;
      this.tickets.delete(challenge);
      return this.answer(username, false);
    }

    // Renewal: a valid full ticket as the password, no TFA again.
    const renewing = this.validTicket(password);
    if (renewing) {
      if (renewing.partial || renewing.user !== username) return undefined;
      return this.answer(username, false);
    }

    if (!safeEqual(password, user.password)) return undefined;
    if (user.totp) return this.answer(username, true);
    return this.answer(username, false);
  }

  private totpOk(user: SimUserSpec, code: string): boolean {
    const totp = user.totp;
    if (!totp) return false;
    if (totp.code !== undefined && safeEqual(code, totp.code)) return true;
    return totp.secret !== undefined && verifyTotp(totp.secret, code, this.opts.now());
  }

  /** Who is calling. A ticket (cookie or header) wins over a token, as in pveproxy. */
  authenticate(headers: Headers): AuthResult {
    const cookieTicket = extractAuthValue(headerValue(headers, 'cookie'), 'PVEAuthCookie');
    const authorization = headerValue(headers, 'authorization');
    const headerTicket = extractAuthValue(authorization, 'PVEAuthCookie');
    const ticket = cookieTicket ?? headerTicket;
    if (ticket !== undefined) {
      const rec = this.validTicket(ticket);
      if (!rec || rec.partial) return { ok: false, message: 'permission denied - invalid PVE ticket', tokenUsed: false };
      const spec = this.users.get(rec.user);
      const privs = rec.user === 'root@pam' || spec?.privs === undefined ? undefined : new Set(spec.privs);
      return { ok: true, identity: { authid: rec.user, user: rec.user, kind: 'ticket', csrf: rec.csrf, ...(privs ? { privs } : {}) } };
    }
    const token = extractAuthValue(authorization, 'PVEAPIToken');
    if (token !== undefined) {
      const eq = token.lastIndexOf('=');
      const tokenid = eq < 0 ? token : token.slice(0, eq);
      const secret = eq < 0 ? '' : token.slice(eq + 1);
      const spec = this.tokens.get(tokenid);
      if (!spec || !safeEqual(secret, spec.secret)) return { ok: false, message: 'invalid token value!', tokenUsed: true };
      if (spec.expired) return { ok: false, message: `token '${tokenid.split('!')[1] ?? ''}' access expired`, tokenUsed: true };
      const [user, id] = tokenid.split('!') as [string, string];
      return {
        ok: true,
        identity: { authid: tokenid, user, tokenid: id, kind: 'token', ...(spec.privs ? { privs: new Set(spec.privs) } : {}) },
      };
    }
    return { ok: false, message: 'No ticket', tokenUsed: false };
  }

  /** True when the request carries an API token (for allowtoken 0 endpoints). */
  static carriesToken(headers: Headers): boolean {
    return extractAuthValue(headers.get('authorization') ?? undefined, 'PVEAPIToken') !== undefined;
  }
}
