// Spawning real targets and the built CLI for end-to-end tests; everything spawned is tracked and
// killed by killAll() (call it in afterEach).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collected, waitFor, waitForOutput, waitForStderr } from './wait.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = path.join(ROOT, 'fixtures');
export const CLI = path.join(ROOT, 'bin/nodeprof.js');

const live = new Set<ChildProcess>();

export interface RunningTarget {
  proc: ChildProcess;
  pid: number;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout text matching re. */
  waitForStdout(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

function track(proc: ChildProcess): ChildProcess {
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  return proc;
}

export async function killAll(): Promise<void> {
  const waits = [...live].map(
    (p) =>
      new Promise<void>((resolve) => {
        if (p.exitCode !== null || p.signalCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}

/** Starts `node [nodeArgs] --inspect=127.0.0.1:0 fixtures/<fixture>` and waits for its port and "ready". */
export async function startTarget(
  fixture: string,
  opts: { nodeArgs?: string[]; args?: string[]; inspect?: boolean; env?: NodeJS.ProcessEnv; node?: string } = {},
): Promise<RunningTarget> {
  const inspect = opts.inspect ?? true;
  const proc = track(
    spawn(
      opts.node ?? process.execPath,
      [...(opts.nodeArgs ?? []), ...(inspect ? ['--inspect=127.0.0.1:0'] : []), path.join(FIXTURES, fixture), ...(opts.args ?? [])],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...opts.env },
      },
    ),
  );
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const waitForStdout = (re: RegExp, timeoutMs = 20_000) =>
    waitForOutput(
      proc,
      'stdout',
      re,
      timeoutMs,
      () => out,
      () => `target ${fixture}; stdout: ${out} stderr: ${err}`,
    ).then((m) => m[0]);
  await waitForStdout(/ready \d+/);
  const port = inspect
    ? Number(await waitFor(() => /Debugger listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(err)?.[1], 10_000, `the inspector port of ${fixture}`))
    : 0;
  return { proc, pid: proc.pid!, port, stdout: () => out, stderr: () => err, waitForStdout, exited };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

export interface CliRun {
  proc: ChildProcess;
  done: Promise<CliResult>;
  /** Resolves when stderr matches re. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Runs the built CLI (bin/nodeprof.js) with stdout piped (so not a TTY), or on the file descriptor `stdout`. */
export function startCli(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; stdout?: number } = {}): CliRun {
  const started = Date.now();
  const proc = track(
    spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'], env: { ...process.env, ...opts.env } }),
  );
  const out: Buffer[] = [];
  const err = collected(proc);
  proc.stdout?.on('data', (d: Buffer) => out.push(d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve) =>
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err(), ms: Date.now() - started });
    }),
  );
  return { proc, done, waitForStderr: async (re, timeoutMs = 20_000) => void (await waitForStderr(proc, re, timeoutMs, err)) };
}

export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; stdout?: number } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

let readableCli: string | undefined;

/**
 * bin/nodeprof.js in a copy every user can read, for running the CLI as another user: the checkout
 * may live in a private (0700) directory, where that user would get "Cannot find module". Copies
 * bin/, dist/bundle/, package.json and the production dependencies (a few hundred KB), once per
 * test file; the copy lives in the temp directory until the machine cleans it.
 */
export function cliReadableByAll(): string {
  if (readableCli) return readableCli;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-cli-'));
  fs.chmodSync(dir, 0o755);
  for (const part of ['bin', 'dist/bundle', 'package.json']) fs.cpSync(path.join(ROOT, part), path.join(dir, part), { recursive: true });
  const pending = Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: object }).dependencies);
  const copied = new Set<string>();
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (copied.has(name)) continue;
    copied.add(name);
    const from = path.join(ROOT, 'node_modules', name);
    fs.cpSync(from, path.join(dir, 'node_modules', name), { recursive: true });
    pending.push(...Object.keys((JSON.parse(fs.readFileSync(path.join(from, 'package.json'), 'utf8')) as { dependencies?: object }).dependencies ?? {}));
  }
  // Directories made by cpSync follow the umask; make every one searchable.
  const open = (d: string): void => {
    fs.chmodSync(d, 0o755);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) open(path.join(d, e.name));
  };
  open(dir);
  readableCli = path.join(dir, 'bin/nodeprof.js');
  return readableCli;
}

/** Whether a process exists (signal 0; a zombie counts as existing). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** CPU time a local process has used so far, in ms (utime + stime of /proc/<pid>/stat, 100 ticks a second). */
export function cpuTimeMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Resolves once the process has run `cpuMs` of CPU from now: a window that must hold samples of a
 * busy target waits for the target to have run, not for the clock (a loaded machine may not run it).
 */
export async function ranFor(pid: number, cpuMs: number, timeoutMs = 30_000): Promise<void> {
  const from = cpuTimeMs(pid);
  await waitFor(() => cpuTimeMs(pid) - from >= cpuMs, timeoutMs, `pid ${pid} to run ${cpuMs}ms of CPU`);
}
