// Is a process really Node.js, and which version, learned from the file it runs without running
// anything: the target's executable (or the libnode it maps) is read, bounded, for the string
// Node's inspector answers GET /json/version with ("node.js/v20.20.2", a C string in .rodata).
// Only a Node built with its inspector carries it, so it answers both "is this Node" and "can
// SIGUSR1 open an inspector in it". Also the identity of a process (start time and executable),
// re-checked right before nodeprof signals it.

import { closeSync, openSync, readFileSync, readSync, readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';

/** A file-backed mapping from /proc/<pid>/maps. */
export interface Mapping {
  range: string;
  /** "major:minor", decimal (as /proc/<pid>/mountinfo writes it). */
  dev: string;
  inode: number;
  path: string;
}

/** What a Node executable (or libnode) says about itself; version null when no marker was found. */
export interface NodeBinary {
  version: string | null;
}

/** Bounds: /proc text files nodeprof reads; how much of .rodata is searched; section headers parsed. */
const PROC_TEXT_MAX = 4 << 20;
const RODATA_SCAN_MAX = 64 << 20;
const WHOLE_FILE_SCAN_MAX = 160 << 20;
const CHUNK = 1 << 20;
const MAX_SECTIONS = 4096;

const MARKER = Buffer.from('node.js/v', 'latin1');
const VERSION_AT = /^node\.js\/(v\d{1,4}\.\d{1,4}\.\d{1,4}(?:-[0-9A-Za-z.]{1,40})?)\0/;

/** A /proc text file, at most `max` bytes (proc files do not block; the bound is against huge maps). */
export async function readProcText(file: string, max = PROC_TEXT_MAX): Promise<string> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(max, 64 << 10));
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, max - total), null);
      if (bytesRead === 0) break;
      parts.push(Buffer.from(buf.subarray(0, bytesRead)));
      total += bytesRead;
      if (total >= max) break;
    }
    return Buffer.concat(parts).toString('utf8');
  } finally {
    await handle.close();
  }
}

export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    // address perms offset dev inode pathname (the path may hold spaces)
    const m = /^([0-9a-f]+-[0-9a-f]+) \S+ [0-9a-f]+ ([0-9a-f]+):([0-9a-f]+) (\d+) +(.*)$/.exec(line);
    if (!m || m[4] === '0') continue;
    out.push({ range: m[1]!, dev: `${parseInt(m[2]!, 16)}:${parseInt(m[3]!, 16)}`, inode: Number(m[4]), path: m[5]! });
  }
  return out;
}

/** Devices ("major:minor") of the FUSE mounts a process sees: their files are served by a program, whose reads may never return. */
export function fuseDevices(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const cols = line.split(' ');
    const sep = cols.indexOf('-');
    if (sep > 0 && /^fuse/.test(cols[sep + 1] ?? '') && cols[2]) out.add(cols[2]);
  }
  return out;
}

/** The offset of `.rodata` and its size, from the ELF section headers; undefined when not an ELF file or it has none. */
async function rodataOf(handle: fs.FileHandle, fileSize: number): Promise<{ offset: number; size: number } | undefined | 'no-sections'> {
  const head = Buffer.alloc(64);
  if ((await handle.read(head, 0, 64, 0)).bytesRead < 52) return undefined;
  if (head.readUInt32BE(0) !== 0x7f454c46) return undefined; // "\x7fELF"
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
  const shoff = word(head, is64 ? 0x28 : 0x20);
  const shentsize = u16(head, is64 ? 0x3a : 0x2e);
  const shnum = u16(head, is64 ? 0x3c : 0x30);
  const shstrndx = u16(head, is64 ? 0x3e : 0x32);
  if (shoff === 0 || shnum === 0) return 'no-sections';
  if (shnum > MAX_SECTIONS || shentsize < (is64 ? 64 : 40) || shentsize > 256 || shstrndx >= shnum || shoff + shnum * shentsize > fileSize) return undefined;
  const table = Buffer.alloc(shnum * shentsize);
  if ((await handle.read(table, 0, table.length, shoff)).bytesRead < table.length) return undefined;
  const section = (i: number) => {
    const o = i * shentsize;
    return { name: u32(table, o), offset: word(table, o + (is64 ? 24 : 16)), size: word(table, o + (is64 ? 32 : 20)) };
  };
  const strtab = section(shstrndx);
  if (strtab.offset + strtab.size > fileSize || strtab.size > 1 << 20) return undefined;
  const names = Buffer.alloc(strtab.size);
  await handle.read(names, 0, names.length, strtab.offset);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.name + 8 > names.length) continue;
    if (names.toString('latin1', s.name, s.name + 8) === '.rodata\0') {
      if (s.offset + s.size > fileSize) return undefined;
      return { offset: s.offset, size: s.size };
    }
  }
  return undefined;
}

/** The first "node.js/vX.Y.Z\0" in [offset, offset+length) of the file. */
async function scanForMarker(handle: fs.FileHandle, offset: number, length: number): Promise<string | null> {
  const overlap = 64;
  const buf = Buffer.alloc(CHUNK + overlap);
  let carried = 0;
  for (let pos = offset; pos < offset + length;) {
    const want = Math.min(CHUNK, offset + length - pos);
    const { bytesRead } = await handle.read(buf, carried, want, pos);
    if (bytesRead === 0) break;
    const filled = carried + bytesRead;
    let at = buf.indexOf(MARKER);
    while (at !== -1 && at < filled) {
      const m = VERSION_AT.exec(buf.toString('latin1', at, Math.min(filled, at + 64)));
      if (m) return m[1]!;
      at = buf.indexOf(MARKER, at + 1);
    }
    // keep the tail: a marker may straddle two chunks
    carried = Math.min(overlap, filled);
    buf.copy(buf, 0, filled - carried, filled);
    buf.fill(0, carried);
    pos += bytesRead;
  }
  return null;
}

/** The Node version an open ELF file carries, or null. Reads at most .rodata's first 64 MiB (160 MiB of a file without section headers). */
export async function nodeVersionOfFile(handle: fs.FileHandle): Promise<string | null> {
  const st = await handle.stat();
  if (!st.isFile()) return null;
  const rodata = await rodataOf(handle, st.size);
  if (rodata === undefined) return null;
  if (rodata === 'no-sections') return scanForMarker(handle, 0, Math.min(st.size, WHOLE_FILE_SCAN_MAX));
  return scanForMarker(handle, rodata.offset, Math.min(rodata.size, RODATA_SCAN_MAX));
}

const cache = new Map<string, Promise<string | null | undefined>>();

/**
 * What the file `key` (device:inode) says, read once per nodeprof run: `read` gives the version or
 * null (the file's bytes carry none), or undefined when it could not read the file through its
 * process (gone meanwhile, exec'd, not ours to open). An undefined is not kept: every process
 * mapping the same file would inherit it (`ps` read /usr/bin/node through a process that had just
 * exited, and showed every Node process's version as unknown). A caller that shared such a read
 * tries once more with its own.
 */
export async function fileVersion(key: string, read: () => Promise<string | null | undefined>): Promise<string | null | undefined> {
  const safeRead = () => read().catch(() => undefined);
  let entry = cache.get(key);
  const shared = entry !== undefined;
  if (!entry) {
    entry = safeRead();
    cache.set(key, entry);
  }
  const version = await entry;
  if (version !== undefined) return version;
  if (cache.get(key) === entry) cache.delete(key);
  if (!shared) return undefined;
  const own = safeRead();
  const mine = await own;
  if (mine !== undefined && !cache.has(key)) cache.set(key, own);
  return mine;
}

/**
 * Opens a file a process maps, checking it is the mapped one (a regular file with the mapping's
 * inode): through /proc/<pid>/map_files (root), else by the path the kernel wrote in maps, opened
 * non-blocking so a FIFO or device put there since cannot hold nodeprof.
 */
async function openMapped(pid: number, m: Mapping): Promise<fs.FileHandle | undefined> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(`/proc/${pid}/map_files/${m.range}`, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    if (!path.isAbsolute(m.path) || m.path.endsWith(' (deleted)')) return undefined;
    const before = await fs.stat(m.path).catch(() => undefined);
    if (!before?.isFile() || before.ino !== m.inode) return undefined;
    handle = await fs.open(m.path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY).catch(() => undefined);
  }
  if (!handle) return undefined;
  const st = await handle.stat().catch(() => undefined);
  if (!st?.isFile() || st.ino !== m.inode) {
    await handle.close();
    return undefined;
  }
  return handle;
}

export interface NodeCheck {
  /** The inspector marker's version, from the executable or a mapped libnode; null when none carries it. */
  version: string | null;
  /** Why nothing was read, when nothing could be. */
  unreadable?: string;
}

/**
 * Whether a process runs a Node.js with an inspector, and its version, from its executable or the
 * libnode it maps; each file read once per nodeprof run (cached by device and inode). Files on a
 * FUSE mount are not read (the program serving them could make the read last forever).
 */
export async function inspectNodeBinary(pid: number): Promise<NodeCheck> {
  const exe = await fs.readlink(`/proc/${pid}/exe`);
  const maps = parseMaps(await readProcText(`/proc/${pid}/maps`));
  const fuse = fuseDevices(await readProcText(`/proc/${pid}/mountinfo`).catch(() => ''));
  const exeMap = maps.find((m) => m.path === exe);
  const libnode = maps.filter((m) => /^libnode\.so(\.|$)/.test(path.basename(m.path.replace(/ \(deleted\)$/, ''))));
  const candidates = [...(exeMap ? [{ ...exeMap, isExe: true }] : []), ...libnode.map((m) => ({ ...m, isExe: false }))];
  let unreadable: string | undefined;
  const seen = new Set<string>();
  for (const m of candidates) {
    const key = `${m.dev}:${m.inode}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (fuse.has(m.dev)) {
      unreadable = 'it runs from a FUSE file system, which nodeprof does not read';
      continue;
    }
    const version = await fileVersion(key, async () => {
      const handle = m.isExe ? await fs.open(`/proc/${pid}/exe`, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY) : await openMapped(pid, m);
      if (!handle) return undefined;
      try {
        if ((await handle.stat()).ino !== m.inode) return undefined;
        return await nodeVersionOfFile(handle);
      } finally {
        await handle.close();
      }
    });
    if (version) return { version };
  }
  return { version: null, ...(unreadable ? { unreadable } : {}) };
}

/** Who a pid is: its start time (clock ticks since boot) and executable, so a reused pid or an exec is noticed. */
export interface ProcessIdentity {
  startTime: string;
  exe: string;
  /** "major:minor:inode" of the executable's mapping. */
  exeFile: string;
}

function readHeadSync(file: string, max: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    let total = 0;
    for (let n; total < max && (n = readSync(fd, buf, total, max - total, null)) > 0;) total += n;
    return buf.toString('utf8', 0, total);
  } finally {
    closeSync(fd);
  }
}

/** Synchronous on purpose: called right before a signal, with nothing in between. Undefined when the process is gone. */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses; field 22 (starttime) is the 20th after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = fields[19];
    const exe = readlinkSync(`/proc/${pid}/exe`);
    if (!startTime || !/^\d+$/.test(startTime)) return undefined;
    // maps begins with the executable's own mappings; its first lines suffice
    const head = readHeadSync(`/proc/${pid}/maps`, 64 << 10);
    const mapping = parseMaps(head).find((m) => m.path === exe);
    return { startTime, exe, exeFile: mapping ? `${mapping.dev}:${mapping.inode}` : '' };
  } catch {
    return undefined;
  }
}

export function sameIdentity(a: ProcessIdentity | undefined, b: ProcessIdentity | undefined): boolean {
  return !!a && !!b && a.startTime === b.startTime && a.exe === b.exe && a.exeFile === b.exeFile;
}
