/**
 * API authentication: a bearer token and/or HTTP basic credentials. On loopback the webserver may
 * run open (a laptop); bound beyond loopback it refuses to start without one of them, because the
 * API can trigger runs and mark tasks. `/api/v1/health` stays open (load balancers probe it) and so
 * do the UI's static files (they hold no data; the UI asks for the token when the API says 401).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DeferflowError } from '../../errors/deferflow-error.ts';
import { problemFor, sendProblem } from './problem.ts';

export interface AuthOptions {
  token?: string;
  basic?: { user: string; password: string };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function hasAuth(auth: AuthOptions | undefined): boolean {
  return Boolean(auth?.token || (auth?.basic?.user && auth.basic.password));
}

/** Throws CONFIG_ERROR when binding beyond loopback without credentials. */
export function assertBindable(host: string, auth: AuthOptions | undefined): void {
  if (!isLoopbackHost(host) && !hasAuth(auth)) {
    throw new DeferflowError('CONFIG_ERROR', `Refusing to bind the webserver to ${host} without authentication`, {
      hint: 'Set DEFERFLOW_API_TOKEN (or pass --api-token / basic auth credentials), or bind to 127.0.0.1.',
    });
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time comparison (hash first so lengths never leak). */
function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

const OPEN_PATHS = [/^\/api\/v1\/health\/?$/, /^\/$/, /^\/ui\//, /^\/favicon\.ico$/, /^\/api\/v1\/ui(\/|$)/];

export function isOpenPath(url: string): boolean {
  const path = url.split('?')[0]!;
  return OPEN_PATHS.some((re) => re.test(path));
}

export function authenticate(auth: AuthOptions, header: string | undefined): boolean {
  if (!header) return false;
  const [scheme, value = ''] = header.split(/\s+/, 2) as [string, string?];
  if (auth.token && /^bearer$/i.test(scheme)) return same(value, auth.token);
  if (auth.basic && /^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return false;
    // Evaluate both so timing does not say which half was wrong.
    const userOk = same(decoded.slice(0, i), auth.basic.user);
    const passOk = same(decoded.slice(i + 1), auth.basic.password);
    return userOk && passOk;
  }
  return false;
}

/**
 * Who a request acts for, for the audit log: the basic-auth user, `token` for the bearer token
 * (it names no one), or `anonymous` on an open (loopback, no credentials) webserver.
 */
export function requestOwner(auth: AuthOptions | undefined, header: string | undefined): string {
  if (!auth || !hasAuth(auth) || !header) return 'anonymous';
  const [scheme, value = ''] = header.split(/\s+/, 2) as [string, string?];
  if (/^bearer$/i.test(scheme)) return 'token';
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i > 0 ? decoded.slice(0, i) : 'anonymous';
  }
  return 'anonymous';
}

/** onRequest hook enforcing `auth` on everything but the open paths. */
export function authHook(auth: AuthOptions) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (isOpenPath(req.url)) return undefined;
    if (authenticate(auth, req.headers.authorization)) return undefined;
    const schemes = [auth.token ? 'Bearer realm="deferflow"' : null, auth.basic ? 'Basic realm="deferflow"' : null].filter(Boolean) as string[];
    reply.header('WWW-Authenticate', schemes.join(', '));
    return sendProblem(
      reply,
      problemFor(
        'UNAUTHORIZED',
        req.headers.authorization
          ? 'Invalid credentials'
          : 'Authentication required: send Authorization: Bearer <token>' + (auth.basic ? ' or basic credentials' : ''),
      ),
    );
  };
}
