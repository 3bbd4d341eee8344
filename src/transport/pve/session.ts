/**
 * A ticket session: POST /access/ticket (with the TOTP second step when the
 * user has TFA), the PVEAuthCookie for every call, the CSRF token for writes,
 * and renewal well before the 2 h lifetime.
 */
import { ApiError } from '../../errors.js';
import { TicketShape } from './schemas.js';
import type { TotpSource } from './types.js';
import { ErrorCode } from '../../error-codes.js';

/** Tickets live 2 h; renew after 1 h so a long rollout never meets an expired one. */
export const TICKET_RENEW_AFTER_MS = 60 * 60 * 1000;

export type PostForm = (path: string, form: URLSearchParams) => Promise<unknown>;

export class TicketSession {
  private ticket: string | undefined;
  private csrf: string | undefined;
  private obtainedAt = 0;
  private pending: Promise<void> | undefined;

  constructor(
    readonly username: string,
    private readonly password: string,
    private readonly totp: TotpSource | undefined,
    private readonly post: PostForm,
    private readonly now: () => number,
  ) {}

  /** Values to keep out of logs and errors. */
  secrets(): string[] {
    return [this.password, this.ticket, this.csrf, typeof this.totp === 'string' ? this.totp : undefined].filter((s): s is string => !!s);
  }

  /** Auth headers for one request; logs in or renews first when needed. */
  async headers(write: boolean): Promise<Record<string, string>> {
    if (!this.ticket) await this.once(() => this.login());
    else if (this.now() - this.obtainedAt >= TICKET_RENEW_AFTER_MS) await this.once(() => this.renew());
    const h: Record<string, string> = { cookie: `PVEAuthCookie=${this.ticket}` };
    if (write && this.csrf) h.CSRFPreventionToken = this.csrf;
    return h;
  }

  /** Forget the ticket (after a 401) so the next call logs in again. */
  invalidate(): void {
    this.ticket = undefined;
    this.csrf = undefined;
  }

  private async once(fn: () => Promise<void>): Promise<void> {
    // Concurrent requests share one login instead of each posting a password.
    this.pending ??= fn().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private accept(data: unknown): void {
    const t = TicketShape.parse(data);
    this.ticket = t.ticket;
    this.csrf = t.CSRFPreventionToken;
    this.obtainedAt = this.now();
  }

  private async login(): Promise<void> {
    const first = TicketShape.parse(await this.post('/access/ticket', new URLSearchParams({ username: this.username, password: this.password })));
    if (!first.NeedTFA) {
      this.accept(first);
      return;
    }
    if (this.totp === undefined) {
      throw new ApiError(ErrorCode.API_AUTH, `${this.username} has two-factor authentication; a TOTP code is needed`, null, {}, {
        fix: 'add "totp" to the ticket (or rootTicket) settings',
      });
    }
    const code = typeof this.totp === 'string' ? this.totp : await this.totp();
    const second = await this.post('/access/ticket', new URLSearchParams({
      username: this.username, 'tfa-challenge': first.ticket, password: `totp:${code}`,
    }));
    const t = TicketShape.parse(second);
    if (t.NeedTFA) throw new ApiError(ErrorCode.API_AUTH, `${this.username}: the TOTP step did not complete the login`, null);
    this.accept(t);
  }

  private async renew(): Promise<void> {
    try {
      this.accept(await this.post('/access/ticket', new URLSearchParams({ username: this.username, password: this.ticket ?? '' })));
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== ErrorCode.API_AUTH) throw err;
      this.invalidate();
      await this.login();
    }
  }
}
