// What bench/keeper-window.mjs and bench/window-end.mjs share: a busy synthetic app
// (bench/fixtures/cpu-work.js loop) under an inspector, driven through its stdin commands, and a
// raw CDP websocket that times each answer's arrival. Plain JavaScript: these scripts run without
// a build step of their own (they import dist/ only for nodeprof's converters).
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

/** The node binary of a major: this one's, else scripts/fetch-node.js's cached download. */
export function nodeFor(major) {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  return execFileSync(process.execPath, [path.join(root, 'scripts/fetch-node.js'), major], { encoding: 'utf8' }).trim();
}

/**
 * Starts the busy app under `node` and waits for its inspector and its "ready". `ask(cmd, re)`
 * writes a command and resolves with the first match of `re` in the output that follows it
 * (rejects after `askTimeoutMs`, or when the app exits).
 */
export async function startTarget(node, { askTimeoutMs = 120_000 } = {}) {
  const proc = spawn(node, ['--inspect=127.0.0.1:0', path.join(root, 'bench/fixtures/cpu-work.js'), 'loop'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const ask = async (cmd, re) => {
    const from = out.length;
    proc.stdin.write(`${cmd}\n`);
    for (const deadline = Date.now() + askTimeoutMs; Date.now() < deadline;) {
      const m = re.exec(out.slice(from));
      if (m) return m;
      if (proc.exitCode !== null) throw new Error(`the target exited after ${cmd}: ${err.trim().split('\n').pop()}`);
      await sleep(5);
    }
    throw new Error(`no ${re} after ${cmd}`);
  };
  for (let i = 0; i < 300; i++) {
    const ws = /ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+/.exec(err)?.[0];
    if (ws && /ready/.test(out)) return { proc, ws, ask };
    await sleep(20);
  }
  proc.kill('SIGKILL');
  throw new Error(`target did not start: ${err}`);
}

/**
 * A raw CDP websocket: send() resolves with the answer's arrival time (performance.now()) and its
 * text; events are listed by method and size.
 */
export function session(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 2 ** 30 });
    let id = 0;
    const waiting = new Map();
    const events = [];
    ws.on('message', (data) => {
      const at = performance.now();
      const text = data.toString('utf8');
      const m = /^\{"id":(\d+)/.exec(text);
      const w = m && waiting.get(Number(m[1]));
      if (w) {
        waiting.delete(Number(m[1]));
        w({ at, text });
      } else if (!m) events.push({ method: /"method":"([^"]+)"/.exec(text)?.[1], bytes: text.length });
    });
    ws.on('open', () =>
      resolve({
        send(method, params = {}) {
          const n = ++id;
          ws.send(JSON.stringify({ id: n, method, params }));
          return new Promise((r) => waiting.set(n, r));
        },
        events,
        close: () => ws.close(),
      }),
    );
    ws.on('error', reject);
  });
}
