/**
 * The request pipeline every simulated endpoint shares: parameters (form,
 * JSON, query, URI), authentication, allowtoken, CSRF, the schema check, the
 * node proxy rules, then the endpoint and PVE's response envelope.
 */
import { http, HttpResponse, type HttpHandler } from 'msw';
import { AuthRegistry, type AuthIdentity } from './auth.js';
import { errorBody, SimHttpError, statusLine } from './errors.js';
import { ConflictingUriParam, mergeParams, parseBody, parseUrlEncoded } from './params.js';
import { findEndpoint, validateParams, type EndpointSchema, type RawParams } from './schema.js';
import type { SimClusterState } from './state.js';

export interface RouteContext {
  readonly state: SimClusterState;
  readonly request: Request;
  readonly params: RawParams;
  /** Undefined only on the unauthenticated login endpoint. */
  readonly identity: AuthIdentity;
  readonly relPath: string;
  /** A scalar parameter. */
  one(name: string): string | undefined;
  /** An array parameter (a single value counts as one item). */
  list(name: string): string[];
}

/** A result with PVE's optional `total` beside `data`. */
export class WithTotal {
  constructor(
    readonly data: unknown,
    readonly total: number,
  ) {}
}

export type RouteFn = (ctx: RouteContext) => unknown;

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export function errorResponse(err: SimHttpError): Response {
  return HttpResponse.json(errorBody(err.message, err.errors), { status: err.status, statusText: statusLine(err.message) });
}

function toSimError(err: unknown): SimHttpError {
  if (err instanceof SimHttpError) return err;
  if (err instanceof Error) return new SimHttpError(500, err.message);
  return new SimHttpError(500, String(err));
}

/** `*\/api2/json` → `/api2/json`; `https://h:8006/api2/json` → `/api2/json`. */
export function basePath(baseUrl: string): string {
  if (baseUrl.startsWith('*')) return baseUrl.slice(1);
  return new URL(baseUrl).pathname.replace(/\/+$/, '');
}

export function relativePath(request: Request, baseUrl: string): string {
  const pathname = new URL(request.url).pathname;
  const prefix = basePath(baseUrl);
  return pathname.startsWith(prefix) ? pathname.slice(prefix.length) || '/' : pathname;
}

function queryParams(request: Request): RawParams {
  const search = new URL(request.url).search;
  return search.length > 1 ? parseUrlEncoded(search.slice(1)) : {};
}

async function unauthorized(state: SimClusterState, message: string): Promise<Response> {
  if (state.options.authFailureDelayMs > 0) await state.timers.sleep(state.options.authFailureDelayMs);
  return errorResponse(new SimHttpError(401, message));
}

/** /nodes/{node}/…: pveproxy forwards to that node, which must exist and be up. */
function checkNode(state: SimClusterState, node: string | undefined): void {
  if (node === undefined) return;
  if (!state.node(node)) throw new SimHttpError(500, `no such cluster node '${node}'`);
  if (!state.nodeOnline(node)) throw new SimHttpError(595, 'No route to host');
}

export function makeRoute(state: SimClusterState, method: Method, pvePath: string, fn: RouteFn): HttpHandler {
  const endpoint: EndpointSchema | undefined = findEndpoint(method, pvePath);
  if (!endpoint) throw new Error(`no schema for ${method} ${pvePath}`);
  const mswPath = `${state.options.baseUrl}${pvePath.replace(/\{([^}]+)\}/g, ':$1')}`;
  const register = { GET: http.get, POST: http.post, PUT: http.put, DELETE: http.delete }[method];
  const isLogin = !endpoint.allowtoken && pvePath === '/access/ticket';

  return register(mswPath, async ({ request, params: uriParams }) => {
    const relPath = relativePath(request, state.options.baseUrl);
    try {
      let identity: AuthIdentity;
      if (!endpoint.allowtoken && AuthRegistry.carriesToken(request.headers)) {
        return await unauthorized(state, `URI '${relPath}' not available with API token, need proper ticket.`);
      }
      if (isLogin) {
        identity = { authid: '', user: '', kind: 'ticket' };
      } else {
        const auth = state.auth.authenticate(request.headers);
        if (!auth.ok) return await unauthorized(state, auth.message);
        identity = auth.identity;
        if (identity.kind === 'ticket' && method !== 'GET' && request.headers.get('csrfpreventiontoken') !== identity.csrf) {
          return await unauthorized(state, 'Permission denied - invalid csrf token');
        }
      }

      let body: RawParams = {};
      if (method === 'POST' || method === 'PUT') {
        const text = await request.text();
        try {
          body = parseBody(request.headers.get('content-type'), text);
        } catch {
          throw new SimHttpError(400, 'malformed JSON body');
        }
      }
      const uri: Record<string, string> = {};
      // msw also reports the `*` origin wildcard as param "0"; only named ones are PVE's.
      for (const [k, v] of Object.entries(uriParams)) if (typeof v === 'string' && !/^\d+$/.test(k)) uri[k] = v;
      let params: RawParams;
      try {
        params = mergeParams(method, body, queryParams(request), uri);
      } catch (e) {
        if (e instanceof ConflictingUriParam) {
          throw new SimHttpError(400, 'Parameter verification failed.', {
            [e.message]: 'duplicate parameter (already defined in URI) with conflicting values!',
          });
        }
        throw e;
      }
      const errors = validateParams(endpoint, params);
      if (Object.keys(errors).length > 0) throw new SimHttpError(400, 'Parameter verification failed.', errors);
      checkNode(state, uri.node);

      const ctx: RouteContext = {
        state, request, params, identity, relPath,
        one: (name) => {
          const v = params[name];
          return Array.isArray(v) ? v[0] : v;
        },
        list: (name) => {
          const v = params[name];
          return v === undefined ? [] : Array.isArray(v) ? v : [v];
        },
      };
      const result = await fn(ctx);
      if (result instanceof Response) return result;
      if (result instanceof WithTotal) return HttpResponse.json({ data: result.data, total: result.total });
      return HttpResponse.json({ data: result ?? null });
    } catch (err) {
      return errorResponse(toSimError(err));
    }
  });
}

/** Faults first: a hanging or failing call happens before anything else. */
export function faultHandler(state: SimClusterState): HttpHandler {
  return http.all(`${state.options.baseUrl}/*`, async ({ request }) => {
    const relPath = relativePath(request, state.options.baseUrl);
    const delay = state.faults.takeDelay(request.method, relPath);
    if (delay) {
      if (delay.ms === undefined) {
        await new Promise<void>((resolve) => {
          if (request.signal.aborted) resolve();
          request.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return errorResponse(new SimHttpError(500, 'request aborted'));
      }
      await state.timers.sleep(delay.ms);
    }
    const fault = state.faults.takeRequestFault(request.method, relPath);
    if (fault) return errorResponse(new SimHttpError(fault.status ?? 500, fault.message));
    return undefined;
  });
}

/** Anything no endpoint claimed: 501, as pveproxy answers. */
export function notImplementedHandler(state: SimClusterState): HttpHandler {
  return http.all(`${state.options.baseUrl}/*`, ({ request }) => {
    const relPath = relativePath(request, state.options.baseUrl);
    return errorResponse(new SimHttpError(501, `Method '${request.method} ${relPath}' not implemented`));
  });
}
