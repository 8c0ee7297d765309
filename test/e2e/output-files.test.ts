// Where attach writes, and how, when the target or another local user is hostile (issue 27 defects
// 2 and 5, issue 25): file names never come from the target's strings; files are created fresh
// (O_EXCL, renamed into place), never through a link, file or FIFO another user planted; heap
// snapshots and temp-directory fallbacks are 0600. Another user is made with useradd (we run as
// root, as CI does); what she "plants" is chowned to her.
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, runCli, startCli, startTarget, type CliResult } from '../helpers/processes.js';
import { checkSnapshot } from '../helpers/checks.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await killAll();
});

function tmpdir(mode?: number): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'npx-files-'));
  if (mode !== undefined) fs.chmodSync(d, mode);
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A directory like /tmp: anyone may create entries in it, only their owner may remove them. */
const sharedDir = () => tmpdir(0o1777);

/** The other local user ("alice"), created once. */
let alice: { uid: number; gid: number };
beforeAll(() => {
  const name = 'npx-files-a';
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'ignore' });
  }
  alice = { uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' })) };
});

/** Something of root's that must survive: a file in a directory only root can enter. */
function rootFile(): string {
  const f = path.join(tmpdir(0o700), 'important.conf');
  fs.writeFileSync(f, 'precious\n', { mode: 0o600 });
  return f;
}

function plantSymlink(at: string, to: string): void {
  fs.symlinkSync(to, at);
  fs.lchownSync(at, alice.uid, alice.gid);
}

function plantFifo(at: string): void {
  execFileSync('mkfifo', ['-m', '0666', at]);
  fs.chownSync(at, alice.uid, alice.gid);
}

/** A reader (cat) on a FIFO; `got()` ends it and resolves with what it read. */
function readFifo(fifo: string): { got: () => Promise<Buffer> } {
  const cat = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  const chunks: Buffer[] = [];
  cat.stdout.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((r) => cat.on('close', () => r()));
  cleanups.push(() => {
    cat.kill('SIGKILL');
  });
  return {
    got: async () => {
      // Releases cat from its open (or its read) with a writer that writes nothing.
      try {
        fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
      } catch {
        // cat has not opened it yet or is gone: the kill below ends it
      }
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      cat.kill('SIGKILL');
      await closed;
      return Buffer.concat(chunks);
    },
  };
}

const mode = (f: string) => fs.statSync(f).mode & 0o777;

/** The error is one line on stderr, no stack trace. */
function oneLineError(r: CliResult, re: RegExp): void {
  const errors = r.stderr.split('\n').filter((l) => /^(nodeprof:|error:)/.test(l));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const STAMP = '\\d{8}-\\d{6}';

describe('default file names never come from the target (it may redefine process.pid)', () => {
  test("process.pid = '/../../…/tmp/<dir>/evil': both files land in the cwd, named after the port", async () => {
    const planted = tmpdir();
    const t = await startTarget('fake-pid.js', { args: [JSON.stringify(`/${'../'.repeat(8)}${planted.slice(1)}/evil`)] });
    const cwd = tmpdir();
    const r = await runCli(['attach', String(t.port), '--cpu', '500ms', '--heap'], { cwd });
    expect(r.code).toBe(0);
    expect(fs.readdirSync(planted)).toEqual([]);
    const files = fs.readdirSync(cwd).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(new RegExp(`^nodeprof-cpu-port${t.port}-${STAMP}\\.pb\\.gz$`));
    expect(files[1]).toMatch(new RegExp(`^nodeprof-heap-port${t.port}-${STAMP}\\.pb\\.gz$`));
    expect(byFunction(loadProfile(path.join(cwd, files[0]!)), 'cpu').flat.size).toBeGreaterThan(0);
  });

  test.each([
    ['a number-like string', '4242'],
    ['a path', '/../evil'],
    ['a negative number', -1],
  ])('process.pid as %s, -o <dir> with two kinds: two files in the directory, named after the port', async (_what, pid) => {
    const t = await startTarget('fake-pid.js', { args: [JSON.stringify(pid)] });
    const dir = tmpdir();
    const r = await runCli(['attach', String(t.port), '--cpu', '500ms', '--heap', '-o', dir]);
    expect(r.code).toBe(0);
    expect(
      fs
        .readdirSync(dir)
        .map((f) => f.replace(new RegExp(`-${STAMP}`), ''))
        .sort(),
    ).toEqual([`nodeprof-cpu-port${t.port}.pb.gz`, `nodeprof-heap-port${t.port}.pb.gz`]);
  });

  test('pid:N names files after the pid nodeprof was given, whatever the target says', async () => {
    const t = await startTarget('fake-pid.js', { args: [JSON.stringify(4242)] });
    const dir = tmpdir();
    const r = await runCli(['attach', `pid:${t.pid}`, '--cpu', '500ms', '-o', dir]);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(dir)).toEqual([expect.stringMatching(new RegExp(`^nodeprof-cpu-${t.pid}-${STAMP}\\.pb\\.gz$`))]);
  });
});

describe('files others planted are neither written through nor into', () => {
  test('temp-directory fallback: a planted symlink to a root file is not followed; the profile is kept 0600 in a private directory', async () => {
    const t = await startTarget('busy.js');
    const tmp = sharedDir();
    const victim = rootFile();
    plantSymlink(path.join(tmp, 'cpu.pb.gz'), victim);
    const r = await runCli(['attach', String(t.port), '--cpu', '500ms', '-o', '/nonexistent-npx-files/cpu.pb.gz'], { env: { TMPDIR: tmp } });
    expect(r.code).toBe(1);
    oneLineError(
      r,
      new RegExp(`^error: cannot write /nonexistent-npx-files/cpu\\.pb\\.gz \\(.*ENOENT.*\\); the profile was kept in ${tmp}/nodeprof-\\w+/cpu\\.pb\\.gz$`),
    );
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    const kept = /kept in (\S+)$/m.exec(r.stderr)![1]!;
    expect(mode(kept)).toBe(0o600);
    expect(mode(path.dirname(kept))).toBe(0o700);
    expect(byFunction(loadProfile(kept), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
  });

  test('temp-directory fallback: a pre-created 0666 file is not written into', async () => {
    const t = await startTarget('busy.js');
    const tmp = sharedDir();
    const trap = path.join(tmp, 'cpu.pb.gz');
    fs.writeFileSync(trap, '');
    fs.chmodSync(trap, 0o666);
    fs.chownSync(trap, alice.uid, alice.gid);
    const r = await runCli(['attach', String(t.port), '--cpu', '500ms', '-o', '/nonexistent-npx-files/cpu.pb.gz'], { env: { TMPDIR: tmp } });
    expect(r.code).toBe(1);
    expect(fs.statSync(trap).size).toBe(0);
    const kept = /kept in (\S+)$/m.exec(r.stderr)![1]!;
    expect(kept).not.toBe(trap);
    expect(mode(kept)).toBe(0o600);
  });

  test("-o <another user's symlink>: refused before collecting (exit 2, one line); what it points to is untouched", async () => {
    const t = await startTarget('busy.js');
    const tmp = sharedDir();
    const victim = rootFile();
    const link = path.join(tmp, 'cpu.pb.gz');
    plantSymlink(link, victim);
    const r = await runCli(['attach', String(t.port), '--cpu', '500ms', '-o', link]);
    expect(r.code).toBe(2);
    oneLineError(r, new RegExp(`^nodeprof: refusing to write through ${link}: it is a symlink owned by another user \\(uid ${alice.uid}\\)$`));
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(r.stderr).not.toMatch(/collecting/);

    // Her link as a directory on the way: /tmp/d -> root's directory, -o /tmp/d/important.conf.
    const d = path.join(tmp, 'd');
    plantSymlink(d, path.dirname(victim));
    const via = await runCli(['attach', String(t.port), '--cpu', '500ms', '-o', path.join(d, 'important.conf')]);
    expect(via.code).toBe(2);
    oneLineError(
      via,
      new RegExp(`^nodeprof: refusing to write through ${d}/important\\.conf: ${d} on its way is a symlink owned by another user \\(uid ${alice.uid}\\)$`),
    );
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  test("-o <another user's FIFO>: refused (exit 2, one line), her reader gets nothing, for a profile and for a snapshot", async () => {
    const t = await startTarget('retain.js');
    for (const kind of [['--cpu', '500ms'], ['--heap-snapshot']]) {
      const fifo = path.join(sharedDir(), 'out');
      plantFifo(fifo);
      const reader = readFifo(fifo);
      const r = await runCli(['attach', String(t.port), ...kind, '-o', fifo]);
      expect(r.code).toBe(2);
      oneLineError(
        r,
        new RegExp(`^nodeprof: refusing to write to ${fifo}: it is a FIFO owned by another user \\(uid ${alice.uid}\\), who would read the profile$`),
      );
      expect((await reader.got()).length).toBe(0);
    }
  });

  test("another user's FIFO planted at -o during the window: not written to; the profile is kept in a private temp directory (exit 1)", async () => {
    const t = await startTarget('busy.js');
    const dir = sharedDir();
    const out = path.join(dir, 'cpu.pb.gz');
    const run = startCli(['attach', String(t.port), '--cpu', '2s', '-o', out], { env: { TMPDIR: tmpdir() } });
    await run.waitForStderr(/collecting/);
    plantFifo(out);
    const reader = readFifo(out);
    const r = await run.done;
    expect(r.code).toBe(1);
    oneLineError(
      r,
      /^error: cannot write .*cpu\.pb\.gz \(refusing to write to .*: it is a FIFO owned by another user .*\); the profile was kept in \S+nodeprof-\w+\/cpu\.pb\.gz$/,
    );
    expect((await reader.got()).length).toBe(0);
    expect(fs.statSync(out).isFIFO()).toBe(true);
  });

  test('--heap-snapshot: a planted <file>.partial symlink is not followed; the snapshot is written whole', async () => {
    const t = await startTarget('retain.js');
    const dir = sharedDir();
    const victim = rootFile();
    const out = path.join(dir, 'x.heapsnapshot');
    plantSymlink(`${out}.partial`, victim);
    const r = await runCli(['attach', String(t.port), '--heap-snapshot', '-o', out]);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
    checkSnapshot(fs.readFileSync(out, 'utf8'));
    expect(fs.readdirSync(dir).sort()).toEqual(['x.heapsnapshot', 'x.heapsnapshot.partial']); // hers, left as it was
    expect(fs.lstatSync(`${out}.partial`).isSymbolicLink()).toBe(true);
  });

  test("-o <another user's 0666 file>: replaced by a file of ours, 0600; her file gets nothing", async () => {
    const t = await startTarget('busy.js');
    const dir = sharedDir();
    const out = path.join(dir, 'cpu.pb.gz');
    fs.writeFileSync(out, '');
    fs.chmodSync(out, 0o666);
    fs.chownSync(out, alice.uid, alice.gid);
    const hers = fs.openSync(out, 'r'); // her inode, as she would keep it open
    cleanups.push(() => fs.closeSync(hers));
    const r = await runCli(['attach', String(t.port), '--cpu', '500ms', '-o', out]);
    expect(r.code).toBe(0);
    expect(fs.fstatSync(hers).size).toBe(0);
    expect(fs.statSync(out).uid).toBe(process.geteuid!());
    expect(mode(out)).toBe(0o600);
    expect(byFunction(loadProfile(out), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
  });
});

describe('what the user writes to stays as it was', () => {
  test('-o <own existing file> is overwritten and keeps its mode; -o <own symlink> writes where it points', async () => {
    const t = await startTarget('busy.js');
    const dir = tmpdir();
    const out = path.join(dir, 'cpu.pb.gz');
    fs.writeFileSync(out, 'old');
    fs.chmodSync(out, 0o640);
    expect((await runCli(['attach', String(t.port), '--cpu', '500ms', '-o', out])).code).toBe(0);
    expect(mode(out)).toBe(0o640);
    expect(byFunction(loadProfile(out), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);

    const link = path.join(dir, 'latest.pb.gz');
    fs.symlinkSync('cpu.pb.gz', link);
    fs.writeFileSync(out, 'old');
    expect((await runCli(['attach', String(t.port), '--cpu', '500ms', '-o', link])).code).toBe(0);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(byFunction(loadProfile(out), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['cpu.pb.gz', 'latest.pb.gz']);
  });
});

describe('heap snapshots are 0600 whatever the umask', () => {
  test('-o file, an existing 0644 file, and the default name: 0600', async () => {
    const t = await startTarget('retain.js');
    const dir = tmpdir();
    const out = path.join(dir, 'x.heapsnapshot');
    expect((await runCli(['attach', String(t.port), '--heap-snapshot', '-o', out])).code).toBe(0);
    expect(mode(out)).toBe(0o600);

    fs.chmodSync(out, 0o644);
    expect((await runCli(['attach', String(t.port), '--heap-snapshot', '-o', out])).code).toBe(0);
    expect(mode(out)).toBe(0o600);

    const cwd = tmpdir();
    expect((await runCli(['attach', String(t.port), '--heap-snapshot', '--cpu', '500ms'], { cwd })).code).toBe(0);
    const snap = fs.readdirSync(cwd).find((f) => f.endsWith('.heapsnapshot'))!;
    expect(mode(path.join(cwd, snap))).toBe(0o600);
    checkSnapshot(fs.readFileSync(path.join(cwd, snap), 'utf8'));
  });
});
