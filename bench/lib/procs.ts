// Child processes of the bench: bench targets, the built CLI, workers. Each is tracked and killed by
// pid when the bench ends, whatever way it ends.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/bench/lib/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BENCH_FIXTURES = path.join(ROOT, 'bench/fixtures');
export const CLI = path.join(ROOT, 'bin/nodeprof.js');

const live = new Set<ChildProcess>();

function track(p: ChildProcess): ChildProcess {
  live.add(p);
  p.on('exit', () => live.delete(p));
  return p;
}

export function killAll(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

/**
 * Runs a bench script's main(): its exit code becomes the process's, an error one line prefixed
 * with `name`, and every process it started is killed however it ends (Ctrl-C included: 130).
 */
export function runScript(name: string, main: () => Promise<number>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
  main().then(
    (code) => {
      killAll();
      process.exitCode = code;
    },
    (err: Error) => {
      killAll();
      process.stderr.write(`${name}: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}

export interface Child {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** First match of re in stdout (re-checked as output arrives). */
  waitStdout(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  send(line: string): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
}

export interface SpawnOpts {
  nodeArgs?: string[];
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** startTarget: how long to wait for "ready" (30 s unless given). */
  readyTimeoutMs?: number;
  /** The node binary (this process's unless given). */
  node?: string;
  /** Run it in a pseudo-terminal of its own (util-linux `script`), for `nodeprof top`. */
  terminal?: boolean;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Starts `node [nodeArgs] script [args]` with piped stdio. */
export function startNode(script: string, opts: SpawnOpts = {}): Child {
  const argv = [opts.node ?? process.execPath, ...(opts.nodeArgs ?? []), script, ...(opts.args ?? [])];
  // script -q (no banner) -f (flush) -e (its exit code is the command's) -c <command> <no log file>.
  const [file, args] = opts.terminal ? ['script', ['-qfec', argv.map(shellQuote).join(' '), '/dev/null']] : [argv[0]!, argv.slice(1)];
  const proc = track(
    spawn(file, args, {
      cwd: opts.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    }),
  );
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  proc.stdin!.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) =>
    proc.on('close', (code, signal) => resolve({ code, signal, atMs: Date.now() })),
  );
  const waitStdout = (re: RegExp, timeoutMs = 30_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) {
          done();
          resolve(m);
        }
      };
      const onExit = () => {
        check();
        done();
        reject(new Error(`${path.basename(script)} exited before printing ${re}; stdout: ${out.slice(-500)} stderr: ${err.slice(-500)}`));
      };
      const done = () => {
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        proc.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${path.basename(script)} did not print ${re} within ${timeoutMs}ms; stderr: ${err.slice(-500)}`));
      }, timeoutMs);
      proc.stdout!.on('data', check);
      proc.on('exit', onExit);
      check();
    });
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    waitStdout,
    send: (line) => void proc.stdin!.write(`${line}\n`),
    exited,
  };
}

export interface Target extends Child {
  /** Inspector port, when started with one. */
  inspectPort: number;
  /** HTTP port, for the HTTP fixture. */
  httpPort: number;
}

/** Starts a bench fixture and waits for "ready" (and the inspector port when --inspect is given). */
export async function startTarget(fixture: string, opts: SpawnOpts = {}): Promise<Target> {
  const c = startNode(path.join(BENCH_FIXTURES, fixture), opts);
  const ready = await c.waitStdout(/ready (\d+)(?: port (\d+))?\n/, opts.readyTimeoutMs);
  let inspectPort = 0;
  if ((opts.nodeArgs ?? []).some((a) => a.startsWith('--inspect'))) {
    const deadline = Date.now() + 10_000;
    while (!inspectPort && Date.now() < deadline) {
      const m = /Debugger listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(c.stderr());
      if (m) inspectPort = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 10));
    }
    if (!inspectPort) throw new Error(`no inspector port from ${fixture}: ${c.stderr()}`);
  }
  if (targetCpu !== undefined) setAffinity(c.proc.pid!, targetCpu);
  return { ...c, inspectPort, httpPort: Number(ready[2] ?? 0) };
}

/** Asks a fixture to exit cleanly ("exit" on stdin), and kills it if it has not within timeoutMs. */
export async function stopTarget(t: Child, timeoutMs = 10_000): Promise<void> {
  t.send('exit');
  const timer = setTimeout(() => t.proc.kill('SIGKILL'), timeoutMs);
  await t.exited;
  clearTimeout(timer);
}

/** Runs the built CLI; resolves when it has exited. */
export function startCli(args: string[], opts: SpawnOpts = {}): Child {
  return startNode(CLI, { ...opts, args });
}

/** The CPU targets are pinned to while `pinned` runs (undefined: not pinned). */
let targetCpu: string | undefined;

function setAffinity(pid: number, cpus: string): void {
  // -a: every thread of the process, V8's platform and profiler threads included.
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * Runs `fn` with targets (startTarget) on the last CPU and this process and everything else it starts
 * (load client, nodeprof) on the others, where Linux and taskset allow. On a shared 2-core machine
 * an A/A test (the same unprofiled target in every condition, 8 rounds) gave throughputs 35% apart
 * when the scheduler placed target and load client freely, and within about 2% once pinned, apart
 * from episodes when the whole machine slowed. Says what it did, for the report.
 */
export async function pinned<T>(fn: () => Promise<T>): Promise<{ value: T; how: string }> {
  const n = os.cpus().length;
  let how = 'not pinned (needs Linux, taskset and 2 or more CPUs)';
  let restore: string | undefined;
  if (process.platform === 'linux' && n >= 2) {
    try {
      setAffinity(process.pid, n === 2 ? '0' : `0-${n - 2}`);
      restore = `0-${n - 1}`;
      targetCpu = String(n - 1);
      how = `targets pinned to CPU ${targetCpu}, the load client and nodeprof to the other ${n - 1} (taskset)`;
    } catch {
      // no taskset: run unpinned
    }
  }
  try {
    return { value: await fn(), how };
  } finally {
    targetCpu = undefined;
    if (restore) setAffinity(process.pid, restore);
  }
}

/** The child's exit, or undefined if it has not exited within `ms` (the timer does not hold the process open). */
export async function exitedWithin(c: Child, ms: number): Promise<Awaited<Child['exited']> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([c.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until V8's CPU profiler runs in a process: V8 starts a thread named v8:ProfEvntProc for it
 * (Linux shows thread names in /proc). Elsewhere it waits a fixed 2 s.
 */
export async function cpuProfilerRunning(pid: number, timeoutMs: number): Promise<void> {
  if (Number.isNaN(profilerThreads(pid))) return sleep(2000);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (profilerThreads(pid) > 0) return;
    await sleep(20);
  }
  throw new Error(`the CPU profiler did not start in pid ${pid} within ${timeoutMs} ms`);
}

/** V8 CPU profiler threads in a process now (Linux names them v8:ProfEvntProc); NaN elsewhere. */
export function profilerThreads(pid: number): number {
  const dir = `/proc/${pid}/task`;
  if (!fs.existsSync(dir)) return NaN;
  let n = 0;
  for (const t of fs.readdirSync(dir)) {
    try {
      if (fs.readFileSync(`${dir}/${t}/comm`, 'utf8').startsWith('v8:ProfEvntProc')) n++;
    } catch {
      // ended while we looked
    }
  }
  return n;
}

/** Waits for nodeprof's "collecting ... for" line: its window (the heap sampler) has started. */
export async function windowStarted(cli: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!/collecting .* from pid/.test(cli.stderr())) {
    if (Date.now() > deadline) throw new Error(`nodeprof did not start its window within ${timeoutMs} ms: ${cli.stderr().trim()}`);
    await sleep(20);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** CPU time of a process so far, s (utime + stime of every thread, from /proc; NaN elsewhere). */
export function cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The node binary of a major version: the bench's own for its major, else scripts/fetch-node.js's. */
export function nodeBinary(major: string): string {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  return execFileSync(process.execPath, [path.join(ROOT, 'scripts/fetch-node.js'), major], { encoding: 'utf8', timeout: 300_000 }).trim();
}

/** Sends `cmd` to a fixture and waits for the next line of its stdout matching `re` after it. */
export async function ask(t: Child, cmd: string, re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const from = t.stdout().length;
  t.send(cmd);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(t.stdout().slice(from));
    if (m) return m;
    if (t.proc.exitCode !== null) throw new Error(`the target exited: ${t.stderr().trim().split('\n').pop()}`);
    if (Date.now() > deadline) throw new Error(`no ${re} from the target within ${timeoutMs} ms (after ${cmd})`);
    await sleep(10);
  }
}

/**
 * CPU time of a process's live threads so far, s, at nanosecond resolution (the sum of
 * /proc/<pid>/task/<tid>/schedstat; /proc/<pid>/stat counts in 10 ms ticks). A thread that exits
 * takes its time out of the sum: use across spans where no thread starts or ends.
 */
export function cpuSecondsFine(pid: number): number {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
    return ns / 1e9;
  } catch {
    return NaN;
  }
}
