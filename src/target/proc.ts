// What /proc says about local processes: existence, command line, environment, executable,
// network namespace, and the TCP sockets each one listens on (Linux only).

import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface Listener {
  host: string;
  port: number;
  inode: number;
}

/** 'alive', 'gone' (no such process, or a zombie), or 'denied' (another user's process). */
export function processState(pid: number): 'alive' | 'gone' | 'denied' {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'denied' : 'gone';
  }
  try {
    // A zombie still answers kill(0) but will never open anything. Synchronous on purpose: this
    // is called in polling loops, and /proc reads do not block.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": comm may hold spaces and parentheses, so look after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return 'gone';
  } catch {
    return 'gone';
  }
  return 'alive';
}

export async function readCmdline(pid: number): Promise<string[]> {
  const raw = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
  return raw.split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
}

export async function readEnvironVar(pid: number, name: string): Promise<string | undefined> {
  const raw = await fs.readFile(`/proc/${pid}/environ`, 'utf8');
  for (const entry of raw.split('\0')) {
    if (entry.startsWith(`${name}=`)) return entry.slice(name.length + 1);
  }
  return undefined;
}

export async function readExe(pid: number): Promise<string> {
  return fs.readlink(`/proc/${pid}/exe`);
}

/** True when the executable (or argv[0]) is a node binary, or the process maps libnode. */
export async function looksLikeNode(pid: number): Promise<boolean> {
  const isNodeName = (p: string) => /^(node|nodejs)[\d.]*$/.test(path.basename(p.replace(/ \(deleted\)$/, '')));
  const exe = await readExe(pid);
  if (isNodeName(exe)) return true;
  const argv0 = (await readCmdline(pid).catch(() => []))[0];
  if (argv0 && isNodeName(argv0) && /node/.test(path.basename(exe))) return true;
  const maps = await fs.readFile(`/proc/${pid}/maps`, 'utf8').catch(() => '');
  return /\/libnode\.so/.test(maps);
}

export async function netNamespace(pid: number | 'self'): Promise<string> {
  return fs.readlink(`/proc/${pid}/ns/net`);
}

/** Inodes of the sockets the process has open. */
export async function socketInodes(pid: number): Promise<Set<number>> {
  const dir = `/proc/${pid}/fd`;
  const inodes = new Set<number>();
  for (const fd of await fs.readdir(dir)) {
    const link = await fs.readlink(path.join(dir, fd)).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(Number(m[1]));
  }
  return inodes;
}

// /proc prints addresses as host-order 32-bit words: on little-endian hosts each word's bytes come reversed.
const LITTLE_ENDIAN = os.endianness() === 'LE';

function wordBytes(word: string): number[] {
  const b = [0, 2, 4, 6].map((i) => parseInt(word.slice(i, i + 2), 16));
  return LITTLE_ENDIAN ? b.reverse() : b;
}

function hexToIPv4(hex: string): string {
  return wordBytes(hex).join('.');
}

function hexToIPv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    bytes.push(...wordBytes(hex.slice(w * 8, w * 8 + 8)));
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  const joined = groups.join(':');
  // Shorten the longest run of zero groups, as people write addresses.
  const runs = [...joined.matchAll(/(?:^|:)0(?::0)+(?::|$)/g)].sort((a, b) => b[0].length - a[0].length);
  if (runs[0]) return joined.replace(runs[0][0], '::');
  return joined;
}

/** Listening TCP sockets in the network namespace of `pid` (its /proc/<pid>/net view). */
export async function listeningSockets(pid: number | 'self'): Promise<Listener[]> {
  const out: Listener[] = [];
  for (const [file, v6] of [
    ['tcp', false],
    ['tcp6', true],
  ] as const) {
    const text = await fs.readFile(`/proc/${pid}/net/${file}`, 'utf8').catch(() => '');
    out.push(...parseProcNetTcp(text, v6));
  }
  return out;
}

/** The LISTEN rows of a /proc/net/tcp or tcp6 table. */
export function parseProcNetTcp(text: string, v6: boolean): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== '0A') continue; // 0A = LISTEN
    const [addr, port] = cols[1]!.split(':');
    out.push({ host: v6 ? hexToIPv6(addr!) : hexToIPv4(addr!), port: parseInt(port!, 16), inode: Number(cols[9]) });
  }
  return out;
}

/** The listening sockets owned by the process. */
export async function listenersOf(pid: number): Promise<Listener[]> {
  const [all, mine] = await Promise.all([listeningSockets(pid), socketInodes(pid)]);
  return all.filter((l) => mine.has(l.inode));
}

/** Pids of the local processes (numeric /proc entries). */
export async function allPids(): Promise<number[]> {
  return (await fs.readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** The pid holding a socket inode, if this user can see it. */
export async function socketOwner(inode: number, except?: number): Promise<number | undefined> {
  for (const pid of await allPids()) {
    if (pid === except) continue;
    const inodes = await socketInodes(pid).catch(() => undefined);
    if (inodes?.has(inode)) return pid;
  }
  return undefined;
}

/** True when `host` (as bound) covers connections to `wanted` on the same port. */
export function bindCovers(bound: string, wanted: string): boolean {
  if (bound === wanted) return true;
  if (bound === '0.0.0.0' || bound === '::') return true;
  if (wanted === '0.0.0.0' || wanted === '::') return true;
  return false;
}

/** Where to connect to reach a socket bound on `host` from this machine. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}
