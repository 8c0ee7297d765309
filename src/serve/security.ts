// Who may ask: the token (constant-time, Bearer header or ?token=) and the Host check against DNS
// rebinding (a web page whose name resolves to 127.0.0.1 sends its own name as Host).

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import os from 'node:os';

export interface Guard {
  token?: string;
  /** Extra host names accepted in the Host header; '*' accepts any. */
  hosts?: string[] | '*';
  /** The address the server listens on, accepted as a Host name. */
  listenHost?: string;
}

/** A token shorter than this (or only whitespace) is refused: it is the one thing between a network and code execution in the target. */
export const MIN_TOKEN_LENGTH = 16;

/** Why a configured token is refused, or undefined when it is fine (or none is set). */
export function tokenProblem(secret: string | undefined): string | undefined {
  if (secret === undefined) return undefined;
  if (!secret.trim()) return 'is empty or only whitespace';
  if (/^\s|\s$/.test(secret)) return 'starts or ends with whitespace (Authorization: Bearer drops it, so it could never match)';
  if ([...secret].length < MIN_TOKEN_LENGTH)
    return `is ${[...secret].length} characters long: use at least ${MIN_TOKEN_LENGTH}, e.g. the output of openssl rand -hex 16`;
  return undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function tokenMatches(given: string | undefined, token: string): boolean {
  // Comparing fixed-length digests keeps the time independent of where the strings differ and of the length.
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}

export function requestToken(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const auth = req.headers.authorization;
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  if (m) return m[1]!.trim();
  return query.get('token') ?? undefined;
}

export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** IP literals and loopback names cannot be rebound; other names only when they are ours. */
export function hostAllowed(header: string | undefined, guard: Guard): boolean {
  if (header === undefined) return true; // HTTP/1.0 tools; browsers always send Host
  if (guard.hosts === '*') return true;
  const name = hostName(header);
  if (net.isIP(name) || isLoopbackHost(name)) return true;
  if (guard.listenHost && name === guard.listenHost.toLowerCase()) return true;
  if (name === os.hostname().toLowerCase()) return true;
  return Array.isArray(guard.hosts) && guard.hosts.some((h) => h.toLowerCase() === name);
}

/**
 * Why a request that looks sent by a web page is refused (403), or undefined. A page can send
 * no-cors GETs (and form POSTs) to a local serve: they start CPU windows, GCs and heap snapshots
 * even if the page never reads the answer. Browsers say where a request comes from; tools (go tool
 * pprof, curl, scrapers) send none of these headers, so they are unaffected:
 * - Sec-Fetch-Site other than same-origin or none (a typed URL, a bookmark): cross-site, and
 *   same-site too, since a page on another port of localhost is same-site;
 * - an Origin that is not this server as the request names it (http or https://<Host>);
 * - a Host under .localhost other than localhost itself (Chromium resolves any *.localhost to
 *   loopback, so a page there passes the rebinding check) unless it is the name serve listens on.
 * A valid token lets such a request through (the caller checks it).
 */
export function browserRefusal(req: IncomingMessage, guard: Guard): string | undefined {
  const site = header(req, 'sec-fetch-site')?.toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return `Sec-Fetch-Site: ${site}: a web page sent this request; nodeprof answers pages only with a token (this check stops other pages from starting profiles)`;
  }
  const origin = header(req, 'origin');
  if (origin !== undefined && !sameOrigin(origin, header(req, 'host'))) {
    return `Origin ${origin} is not this server: nodeprof answers other origins only with a token (this check stops other pages from starting profiles)`;
  }
  const host = header(req, 'host');
  if (host !== undefined) {
    const name = hostName(host);
    if (name.endsWith('.localhost') && name !== guard.listenHost?.toLowerCase()) {
      return `Host '${host}' is a subdomain of localhost, which browsers give to pages: use localhost or 127.0.0.1, or a token`;
    }
  }
  return undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const u = new URL(origin);
    // https too: a mounted pprofHandler behind a TLS-terminating proxy sees its own pages' https Origin.
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host === new URL(`${u.protocol}//${host.trim()}`).host;
  } catch {
    return false; // "null" (a sandboxed page, a file) or garbage
  }
}
