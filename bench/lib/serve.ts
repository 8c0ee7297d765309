// For the facade measures (P6, the soak): `nodeprof serve` on loopback, plain HTTP GETs that only
// count bytes, and memory figures of a process from /proc.

import fs from 'node:fs';
import http from 'node:http';
import { sleep, startCli, startNode, type Child } from './procs.js';

export interface Serving {
  cli: Child;
  port: number;
  /** http://127.0.0.1:PORT/debug/pprof/ as serve printed it. */
  url: string;
}

/**
 * Starts `nodeprof serve --target <port> --listen 127.0.0.1:0` and waits for its "serving <url>" line;
 * `cli`: another build's bin/nodeprof.js (this checkout's unless given).
 */
export async function startServe(targetPort: number, extra: string[] = [], timeoutMs = 60_000, cli0?: string): Promise<Serving> {
  const args = ['serve', '--target', String(targetPort), '--listen', '127.0.0.1:0', ...extra];
  const cli = cli0 ? startNode(cli0, { args }) : startCli(args);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /serving (http:\/\/[^\s/]+:(\d+)\/debug\/pprof\/)/.exec(cli.stderr());
    if (m) return { cli, url: m[1]!, port: Number(m[2]) };
    if (cli.proc.exitCode !== null || cli.proc.signalCode !== null)
      throw new Error(`nodeprof serve exited before serving: ${cli.stderr().trim().split('\n').pop()}`);
    if (Date.now() > deadline) throw new Error(`nodeprof serve printed no "serving" line within ${timeoutMs} ms: ${cli.stderr().trim()}`);
    await sleep(20);
  }
}

export interface Answer {
  /** HTTP status, or 0 when the request failed without one (the error says why). */
  status: number;
  bytes: number;
  ms: number;
  error?: string;
}

/** GET http://127.0.0.1:port/debug/pprof/<rel>; never rejects. The body is counted, not kept. */
export function get(port: number, rel: string, timeoutMs: number, agent?: http.Agent): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...a, ms: performance.now() - t0 });
    };
    const req = http.get({ host: '127.0.0.1', port, path: `/debug/pprof/${rel}`, agent: agent ?? false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => done({ status: res.statusCode ?? 0, bytes }));
      res.on('error', (err) => done({ status: 0, bytes, error: err.message }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => done({ status: 0, bytes: 0, error: err.message }));
  });
}

export interface ProcMem {
  /** Resident set size now, MiB. */
  rssMiB: number;
  /** Peak resident set size so far (VmHWM), MiB. */
  hwmMiB: number;
  /** Open file descriptors (sockets included). */
  fds: number;
}

/** Memory and descriptors of a live process from /proc (undefined when it has exited or off Linux). */
export function procMem(pid: number | undefined): ProcMem | undefined {
  if (!pid) return undefined;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    let fds = NaN;
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // not ours to read
    }
    return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024, fds };
  } catch {
    return undefined;
  }
}

/**
 * A trend of samples (x in minutes, y in MiB): the least-squares slope, per minute. Used to tell
 * growth from noise when RSS is sampled many times over a long run.
 */
export function slopePerMinute(points: Array<[number, number]>): number {
  const p = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (p.length < 2) return NaN;
  const mx = p.reduce((a, [x]) => a + x, 0) / p.length;
  const my = p.reduce((a, [, y]) => a + y, 0) / p.length;
  const sxy = p.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = p.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx ? sxy / sxx : NaN;
}

/**
 * Light traffic for an HTTP bench target (one keep-alive connection, a request then a pause), so it
 * has work in its profiles and a heap that moves. stop() resolves with the number of requests made.
 */
export function startTraffic(port: number, pauseMs: number): { stop(): Promise<number> } {
  let stopping = false;
  let n = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const loop = (async () => {
    while (!stopping) {
      await new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: `/items?min=${100 + (n % 400)}`, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
          res.on('error', () => resolve());
        });
        req.setTimeout(10_000, () => req.destroy());
        req.on('error', () => resolve());
      });
      n++;
      await sleep(pauseMs);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      agent.destroy();
      return n;
    },
  };
}
