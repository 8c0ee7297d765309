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
