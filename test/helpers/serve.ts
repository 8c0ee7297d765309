// Running `nodeprof serve` and talking HTTP to a facade the way scrapers and go tool pprof do.

import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { startCli, type CliRun, type RunningTarget } from './processes.js';
import { waitFor } from './wait.js';

export interface Serving {
  run: CliRun;
  /** http://127.0.0.1:PORT/debug/pprof/ as printed on stderr. */
  url: string;
  port: number;
  stderr(): string;
}

export async function startServe(target: string | number, extra: string[] = [], env?: NodeJS.ProcessEnv): Promise<Serving> {
  const run = startCli(['serve', '--target', String(target), '--listen', '127.0.0.1:0', ...extra], { timeoutMs: 300_000, env });
  let err = '';
  run.proc.stderr!.on('data', (d) => (err += d));
  await run.waitForStderr(/serving http:\/\/\S+/, 30_000);
  return { run, ...urlFrom(err), stderr: () => err };
}

export function urlFrom(stderr: string): { url: string; port: number } {
  const m = /serving (http:\/\/[^\s/]+:(\d+)\/debug\/pprof\/)/.exec(stderr);
  if (!m) throw new Error(`no serving line in: ${stderr}`);
  return { url: m[1]!, port: Number(m[2]) };
}

/** The address an app started with `--import nodeprof/register` prints once it serves. */
export async function registerServing(t: RunningTarget): Promise<{ url: string; port: number }> {
  await waitFor(() => /serving http/.test(t.stderr()), 20_000, 'a serving line from the app');
  return urlFrom(t.stderr());
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<HttpAnswer> {
  // Node's client frames a GET's body by nothing (no Content-Length, not chunked): the server would
  // read it as the next request, answer Node's bare 400 and drop the connection mid-answer.
  const headers = opts.body === undefined ? opts.headers : { 'Content-Length': String(Buffer.byteLength(opts.body)), ...opts.headers };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers, timeout: opts.timeoutMs ?? 120_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** An IPv4 address of this machine that is not loopback: how another machine would reach a serve. */
export function externalAddress(): string {
  const a = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  if (!a) throw new Error('this machine has no non-loopback IPv4 address: the off-loopback rules cannot be checked here');
  return a.address;
}

/** Whether a TCP connection to host:port is accepted. */
export function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
