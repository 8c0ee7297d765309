// Target spellings (9229, host:port, [::1]:9229, ws://host:port/<id>, pid:<PID>) parsed once into plain values.

import { UsageError } from '../errors.js';

export type TargetSpec =
  | { kind: 'address'; host: string; port: number; text: string }
  | { kind: 'websocket'; url: string; host: string; port: number; text: string }
  | { kind: 'pid'; pid: number; text: string };

const MAX_PID = 2 ** 31 - 1;
const HELP = 'use a port (9229), host:port, [::1]:9229, ws://host:port/<id>, pid:<PID>, auto or cmd:<regex>';

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new UsageError(`invalid target '${whole}': ${HELP}`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new UsageError(`invalid target '${whole}': port ${port} is out of range 1-65535`);
  return port;
}

export function parseTarget(input: string | number): TargetSpec {
  const text = String(input).trim();
  if (/^\d+$/.test(text)) return { kind: 'address', host: '127.0.0.1', port: parsePort(text, text), text };

  const pid = /^pid:(.*)$/i.exec(text);
  if (pid) {
    // kill(2) takes a 32-bit pid_t: anything longer is no process (and would not reach kill intact).
    if (!/^\d+$/.test(pid[1]!) || Number(pid[1]) < 1 || Number(pid[1]) > MAX_PID)
      throw new UsageError(`invalid target '${text}': pid:<PID> needs a process id`);
    return { kind: 'pid', pid: Number(pid[1]), text };
  }

  if (/^wss?:\/\//i.test(text)) {
    let url: URL;
    try {
      // URL() silently drops tabs and newlines inside; a URL holding them is not the one typed.
      if (/[\u0000-\u0020\u007f]/.test(text)) throw new Error('control character');
      url = new URL(text);
    } catch {
      throw new UsageError(`invalid target '${text}': not a websocket URL`);
    }
    if (url.port === '0') throw new UsageError(`invalid target '${text}': port 0 is out of range 1-65535`);
    const port = url.port ? Number(url.port) : url.protocol === 'wss:' ? 443 : 80;
    return { kind: 'websocket', url: text, host: url.hostname.replace(/^\[|\]$/g, ''), port, text };
  }

  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  if (v6) return { kind: 'address', host: v6[1]!, port: parsePort(v6[2]!, text), text };

  const hp = /^([A-Za-z0-9.-]+):(\d+)$/.exec(text);
  if (hp) return { kind: 'address', host: hp[1]!, port: parsePort(hp[2]!, text), text };

  throw new UsageError(`invalid target '${text}': ${HELP}`);
}

/** host:port as a user would type it back (IPv6 in brackets). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `auto` (the only Node process besides nodeprof) or `cmd:<regex>` (the one whose command line matches): resolved to a pid by pick.ts. */
export type PickSpec = { kind: 'auto'; text: string } | { kind: 'cmd'; re: RegExp; text: string };

/** A regular expression the user typed (--match, cmd:), or a UsageError naming the option. */
export function parseRegex(source: string, what: string): RegExp {
  if (source === '') throw new UsageError(`invalid ${what}: the regular expression is empty`);
  try {
    return new RegExp(source);
  } catch (err) {
    throw new UsageError(`invalid ${what}: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

/** The pick spellings (`auto`, `cmd:<regex>`), or undefined for every other target. */
export function parsePick(input: string): PickSpec | undefined {
  const text = input.trim();
  if (text === 'auto') return { kind: 'auto', text };
  const m = /^cmd:(.*)$/s.exec(text);
  if (m) return { kind: 'cmd', re: parseRegex(m[1]!, '--target cmd:<regex>'), text };
  return undefined;
}
