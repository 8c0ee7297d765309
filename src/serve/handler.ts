// The HTTP side of the facade, shared by `nodeprof serve`, nodeprof/register and pprofHandler:
// guard (Host, requests from web pages, token), route from the table, one error path, one log line per request.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage } from '../errors.js';
import type { Facade } from './facade.js';
import { HttpError, sendError } from './http-error.js';
import { indexPage } from './index-page.js';
import { findRoute } from './routes.js';
import { browserRefusal, hostAllowed, requestToken, tokenMatches, type Guard } from './security.js';

export const PREFIX = '/debug/pprof';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createRequestHandler(facade: Facade, guard: Guard, log?: (line: string) => void): RequestHandler {
  return (req, res) => {
    const url = requestUrl(req.url ?? '/');
    if (!url) return false;
    if (url.pathname !== PREFIX && !url.pathname.startsWith(`${PREFIX}/`)) return false;
    const started = Date.now();
    if (log) {
      res.once('close', () => {
        const shown = new URLSearchParams(url.searchParams);
        if (shown.has('token')) shown.set('token', 'REDACTED');
        const q = shown.toString();
        log(`${req.method} ${url.pathname}${q ? `?${q}` : ''} ${res.headersSent ? res.statusCode : 'aborted'} ${Date.now() - started}ms`);
      });
    }
    serve(facade, guard, req, res, url).catch((err: unknown) => {
      if (err instanceof HttpError) sendError(res, err.status, err.message, err.headers);
      else sendError(res, 500, `nodeprof: ${errorMessage(err)}`);
    });
    return true;
  };
}

/**
 * The request target as a URL, or undefined when it is not one. Origin-form (/path?query) is always
 * a path, even when it starts with // (which URL() would read as a host name); absolute-form
 * (http://host/path, what proxies send) is parsed whole. `GET http://[ HTTP/1.1` passes Node's
 * parser, and URL() throws on it: that must be a 404, not a crash of the server (or of the app a
 * pprofHandler is mounted in).
 */
export function requestUrl(target: string): URL | undefined {
  try {
    return target.startsWith('/') ? new URL(`http://localhost${target}`) : new URL(target);
  } catch {
    return undefined;
  }
}

async function serve(facade: Facade, guard: Guard, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (!hostAllowed(req.headers.host, guard)) {
    throw new HttpError(403, `Host '${req.headers.host}' is not this server: use its address or localhost (this check stops DNS rebinding)`);
  }
  const tokenOk = guard.token !== undefined && tokenMatches(requestToken(req, url.searchParams), guard.token);
  const fromPage = tokenOk ? undefined : browserRefusal(req, guard);
  if (fromPage) throw new HttpError(403, fromPage);
  if (guard.token !== undefined && !tokenOk) {
    throw new HttpError(401, 'a token is required: send Authorization: Bearer <token> or add ?token=<token>', { 'WWW-Authenticate': 'Bearer' });
  }
  const method = req.method ?? 'GET';
  if (url.pathname === PREFIX) return redirectToSlash(res, method, `${PREFIX}/${rawQuery(req.url ?? '', url)}`);
  const name = url.pathname.slice(PREFIX.length + 1);
  if (name === '') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end(indexPage(facade, url.searchParams.get('token') ?? undefined));
    return;
  }
  const route = findRoute(name);
  if (!route) throw new HttpError(404, 'Unknown profile');
  // Go's handlers answer any method; GET, HEAD and POST are what clients send (parameters are read
  // from the query only, a POST body is not a form here). Others get a 405 that says what to use.
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    throw new HttpError(405, `${method} is not supported here: use GET or POST`, { Allow: 'GET, HEAD, POST' });
  }
  await route.handle({ req, res, query: url.searchParams, facade });
}

/** The query as the client sent it (Go's Location keeps it so), or as URL() re-encodes it when it holds bytes a header cannot. */
function rawQuery(target: string, url: URL): string {
  const at = target.indexOf('?');
  const raw = at < 0 || at === target.length - 1 ? '' : target.slice(at);
  return /^[\x21-\x7e]*$/.test(raw) ? raw : url.search;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

/**
 * /debug/pprof → /debug/pprof/ as Go's ServeMux answers it (http.Redirect): a 301 with, for GET
 * and HEAD, an HTML body linking the new place.
 */
function redirectToSlash(res: ServerResponse, method: string, location: string): void {
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(301, { Location: location });
    res.end();
    return;
  }
  res.writeHead(301, { Location: location, 'Content-Type': 'text/html; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(`<a href="${location.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)}">Moved Permanently</a>.\n\n`);
}
