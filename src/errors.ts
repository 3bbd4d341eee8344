/**
 * One small hierarchy. Every error the tool raises on purpose has a stable
 * code, says where it happened (cluster/node/vm, step) and, where one exists,
 * the fix. The CLI prints `message` as one line and `toJSON()` for --json.
 * The codes are a closed set, declared in src/error-codes.ts.
 */
import { ErrorCode, type CodeOf } from './error-codes.js';

export { ErrorCode, ERROR_CATALOGUE, isErrorCode, type CodeOf, type ErrorCodeInfo, type ErrorLayer } from './error-codes.js';

export interface ErrorContext {
  readonly cluster?: string;
  readonly node?: string;
  readonly vmid?: number;
  readonly step?: string;
  readonly fix?: string;
}

/**
 * The base of every error the tool raises on purpose. Not thrown itself: each
 * layer has its own class (below), whose `code` is one of that layer's codes
 * in the catalogue (src/error-codes.ts).
 */
export abstract class PassthroughError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** One line for a person: where, what, and the fix. */
  oneLine(): string {
    const where = [this.context.cluster, this.context.node, this.context.vmid !== undefined ? `VM ${this.context.vmid}` : undefined]
      .filter(Boolean)
      .join('/');
    const step = this.context.step ? ` [${this.context.step}]` : '';
    const fix = this.context.fix ? ` — fix: ${this.context.fix}` : '';
    return `${where ? `${where}: ` : ''}${this.message}${step}${fix}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.context };
  }
}

/** Bad inventory, flags, plan file or library argument: nothing was contacted. */
export class InputError extends PassthroughError {
  declare readonly code: CodeOf<'input'>;
  constructor(message: string, readonly problems: readonly string[] = [], context: ErrorContext = {}) {
    super(ErrorCode.INPUT, message, context);
  }
}

/** SSH: connect, auth, host key, exec, remote command, reboot wait. */
export class SshError extends PassthroughError {
  declare readonly code: CodeOf<'ssh'>;
  constructor(code: CodeOf<'ssh'>, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
  }
}

/** Host key unknown or changed: always refused, fingerprint shown. */
export class HostKeyError extends SshError {
  constructor(message: string, readonly fingerprint: string, context: ErrorContext = {}) {
    super(ErrorCode.HOST_KEY, message, context);
  }
}

/** A remote command exited non-zero. */
export class RemoteCommandError extends SshError {
  constructor(message: string, readonly exitCode: number | null, readonly stderr: string, context: ErrorContext = {}) {
    super(ErrorCode.REMOTE_COMMAND, message, context);
  }
}

/** PVE API errors (HTTP status, per-parameter errors, task failures, TLS). */
export class ApiError extends PassthroughError {
  declare readonly code: CodeOf<'api'>;
  constructor(
    code: CodeOf<'api'>,
    message: string,
    readonly status: number | null,
    readonly paramErrors: Readonly<Record<string, string>> = {},
    context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, context, options);
  }
}

/** A safety gate said no (quorum, guests, HA, stale plan, backups, unsafe values); nothing unsafe was done. */
export class SafetyError extends PassthroughError {
  declare readonly code: CodeOf<'safety'>;
  constructor(code: CodeOf<'safety'>, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
  }
}

/** The engine's run: lease, interruption, the cluster disagreeing with the inventory, internal failures. */
export class RunError extends PassthroughError {
  declare readonly code: CodeOf<'run'>;
  constructor(code: CodeOf<'run'>, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
  }
}

/** Field names whose values are secrets in PVE requests and in our own JSON. */
const SECRET_KEYS = '(?:password|secret|passphrase|ticket|totp|tfa-challenge|new-password)';
const JSON_SECRET = new RegExp(`("${SECRET_KEYS}"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*(")`, 'gi');
const FORM_SECRET = new RegExp(`((?:^|[?&])${SECRET_KEYS}=)[^&\\s]+`, 'gi');

/**
 * Mask secret VALUES before text reaches a log or a report; never ordinary words.
 * Masked: every value the run resolved (any length, longest first, so a value
 * that contains another is masked whole), and values in the positions the PVE
 * protocol puts them: the token header, the auth cookie, the CSRF header, a
 * JSON string under a secret-named key, and a form/query field `key=value`
 * right after `?`, `&` or the start of the text. Prose such as
 * "POST /access/ticket: cannot reach" or "export PVE_TOKEN_SECRET=… before
 * running" keeps its words.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of [...new Set(secrets)].filter((v) => v.length > 0).sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out
    .replace(/(PVEAPIToken=[^=\s]+=)[^\s;"']+/g, '$1***')
    .replace(/(PVEAuthCookie=)[^\s;"']+/g, '$1***')
    .replace(/(CSRFPreventionToken:\s*)[^\s"']+/gi, '$1***')
    // JSON: "password": "value" (an object or array value is structure, e.g. an inventory's "password": {"env": …}).
    .replace(JSON_SECRET, '$1***$2')
    // Form bodies and query strings: password=value&…
    .replace(FORM_SECRET, '$1***');
}
