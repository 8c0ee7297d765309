// Processes that are named node but are not Node.js: `nodeprof ps` (run as root, as the README
// suggests) never executes them, and attach pid: never signals them. Neither opens port 9229 (the
// point is that nothing is sent), so these live outside pid.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alive, killAll, runCli } from '../helpers/processes.js';

const USER = 'npx-target-a';
let uid = 0;
let gid = 0;
let dir = '';
const started: ChildProcess[] = [];

afterEach(async () => {
  await killAll();
  for (const p of started.splice(0)) p.kill('SIGKILL');
});

/** A user of our own (idempotent): the other user whose program root must not run. */
function ensureUser(name: string): { uid: number; gid: number } {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'ignore' });
  }
  return {
    uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim()),
  };
}

/** Starts `file args` as the user, and waits until the kernel shows the process running `file`. */
async function startAs(file: string, args: string[], as?: { uid: number; gid: number }): Promise<ChildProcess> {
  const proc = spawn(file, args, { stdio: 'ignore', ...(as ? { uid: as.uid, gid: as.gid } : {}), cwd: '/' });
  started.push(proc);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (fs.readlinkSync(`/proc/${proc.pid}/exe`, { encoding: 'utf8' }) === file) return proc;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} did not start`);
}

beforeAll(() => {
  ({ uid, gid } = ensureUser(USER));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-identity-'));
  fs.chmodSync(dir, 0o755);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a program named node that is not Node.js', () => {
  test("ps as root never runs another user's program named node (it would write a marker as root)", async () => {
    // What the attacker compiles to ~/bin/node: with --version it leaves a marker (as whoever ran it), otherwise it waits.
    const home = path.join(dir, 'alice-bin');
    fs.mkdirSync(home);
    const marker = path.join(dir, 'ran-as-root');
    const source = path.join(dir, 'evil.c');
    fs.writeFileSync(
      source,
      `#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    int fd = open(${JSON.stringify(marker)}, O_CREAT | O_WRONLY, 0644);
    dprintf(fd, "uid %d\\n", (int)getuid());
    puts("v20.0.0");
    return 0;
  }
  for (;;) pause();
}
`,
    );
    const node = path.join(home, 'node');
    try {
      execFileSync('cc', ['-o', node, source], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`this test compiles a small C program and needs cc (gcc): ${String(err)}`);
    }
    fs.chownSync(home, uid, gid);
    fs.chownSync(node, uid, gid);
    const evil = await startAs(node, ['--serve'], { uid, gid });

    const r = await runCli(['ps', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout.toString()) as Array<{ pid: number; nodeVersion: string | null; argv: string[] }>;
    // listed (its name says node), its version unknown: nothing of it was run to ask
    expect(list.find((p) => p.pid === evil.pid)).toEqual({ pid: evil.pid, nodeVersion: null, inspector: null, argv: [node, '--serve'] });
    const table = await runCli(['ps']);
    expect(
      table.stdout
        .toString()
        .split('\n')
        .find((l) => l.startsWith(`${evil.pid} `)),
    ).toMatch(new RegExp(`^${evil.pid}\\s+\\?\\s+-\\s+`));
    expect(fs.existsSync(marker)).toBe(false);

    // nor does attach signal it (SIGUSR1 would kill it), and it runs nothing of it either
    const a = await runCli(['attach', `pid:${evil.pid}`, '--cpu', '1s']);
    expect(a.code).toBe(1);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    expect(a.stderr).toMatch(
      new RegExp(
        `^nodeprof: pid ${evil.pid} is not a Node\\.js process nodeprof can open \\(it runs .*/node, .*carries no Node\\.js inspector\\): nothing was sent to it`,
      ),
    );
    expect(alive(evil.pid!)).toBe(true);
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('a copy of sleep named node: attach and stack refuse with one line, and it is still alive', async () => {
    const bin = path.join(dir, 'sleep-bin');
    fs.mkdirSync(bin, { recursive: true });
    const node = path.join(bin, 'node');
    fs.copyFileSync(fs.realpathSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim()), node);
    fs.chmodSync(node, 0o755);
    const fake = await startAs(node, ['600']);
    const r = await runCli(['attach', `pid:${fake.pid}`, '--cpu', '1s']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`pid ${fake.pid} is not a Node\\.js process nodeprof can open \\(it runs ${node.replace(/[.]/g, '\\.')}, `));
    const s = await runCli(['stack', `pid:${fake.pid}`]);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/is not a Node\.js process nodeprof can open/);
    // SIGUSR1's default action ends a process: it got none
    expect(fake.exitCode).toBeNull();
    expect(fake.signalCode).toBeNull();
    expect(alive(fake.pid!)).toBe(true);
  });
});
