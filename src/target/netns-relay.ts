// Reaching 127.0.0.1 of another network namespace (a container) as root: one relay child per
// namespace, `nsenter --net=<ns> <our node> -e RELAY`, listening on a unix socket in a private
// directory (path sockets are not bound to a network namespace, so both sides reach it). Each
// connection starts with one line, the port; the relay connects to 127.0.0.1:<port> inside the
// namespace and pipes both ways. nodeprof's side is a TCP listener on 127.0.0.1:0 per port, so the
// inspector client code is the same as for a local target. The relay runs nodeprof's own node
// binary (nsenter enters only the network namespace: the mount namespace, hence the files, stay
// ours); it exits when its stdin closes, i.e. when nodeprof exits, even after a kill -9.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NodeprofError, errorMessage } from '../errors.js';
import { processIdentity, sameIdentity, type ProcessIdentity } from './node-binary.js';
import type { Reach } from './pid.js';

/** The relay, run inside the namespace: only to loopback, only to a port given as digits, bounded. */
export const RELAY_SCRIPT = `
const net = require('net');
const sock = process.argv[1];
let open = 0;
const server = net.createServer((c) => {
  if (++open > 64) { open--; c.destroy(); return; }
  c.once('close', () => open--);
  c.on('error', () => c.destroy());
  let head = Buffer.alloc(0);
  const onData = (d) => {
    head = Buffer.concat([head, d]);
    const nl = head.indexOf(10);
    if (nl < 0) { if (head.length > 8) c.destroy(); return; }
    c.off('data', onData);
    c.setTimeout(0);
    const text = head.subarray(0, nl).toString('latin1');
    const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : 0;
    if (port < 1 || port > 65535) { c.destroy(); return; }
    const rest = head.subarray(nl + 1);
    const t = net.connect({ host: '127.0.0.1', port });
    t.on('error', () => c.destroy());
    t.on('close', () => c.destroy());
    c.on('close', () => t.destroy());
    if (rest.length) t.write(rest);
    c.pipe(t); t.pipe(c);
  };
  c.on('data', onData);
  c.setTimeout(5000, () => c.destroy());
});
server.on('error', (e) => { process.stderr.write(String(e && e.message) + '\\n'); process.exit(1); });
server.listen(sock, () => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
`;

const START_TIMEOUT_MS = 5000;

interface Relay {
  child: ChildProcess;
  sock: string;
  ready: Promise<void>;
  /** Local listeners, by port in the namespace. */
  ports: Map<number, Promise<net.Server>>;
}

/** The relays of one serve: one per network namespace, closed together. */
export class NetnsRelays {
  private readonly relays = new Map<string, Relay>();
  private dir: string | undefined;
  private started = 0;

  /** A Reach for the namespace of `pid` (as its identity says): starts the relay on first use. */
  reachFor(pid: number, identity: ProcessIdentity, netns: string): Reach {
    return async (host, port) => {
      if (host !== '127.0.0.1' && host !== 'localhost')
        throw new NodeprofError(`the relay into pid ${pid}'s network namespace reaches 127.0.0.1 only, not ${host}`);
      const relay = this.relays.get(netns) ?? this.start(pid, identity, netns);
      await relay.ready;
      let server = relay.ports.get(port);
      if (!server) relay.ports.set(port, (server = listenLocal(relay.sock, port)));
      const a = (await server).address() as net.AddressInfo;
      return { host: '127.0.0.1', port: a.port };
    };
  }

  private start(pid: number, identity: ProcessIdentity, netns: string): Relay {
    this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-relay-'));
    fs.chmodSync(this.dir, 0o700);
    const sock = path.join(this.dir, `${this.started++}.sock`);
    // The namespace is opened here and handed to nsenter as a descriptor, after checking the pid is
    // still the process discovery saw: a pid reused meanwhile cannot steer the relay elsewhere.
    const fd = fs.openSync(`/proc/${pid}/ns/net`, 'r');
    let child: ChildProcess;
    try {
      if (!sameIdentity(identity, processIdentity(pid)) || fs.readlinkSync(`/proc/self/fd/${fd}`) !== netns) {
        throw new NodeprofError(`pid ${pid} exited before nodeprof could enter its network namespace`);
      }
      child = spawn('nsenter', ['--net=/proc/self/fd/3', '--', process.execPath, '-e', RELAY_SCRIPT, sock], {
        stdio: ['pipe', 'pipe', 'pipe', fd],
      });
    } finally {
      fs.closeSync(fd);
    }
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-400)));
    const relay: Relay = { child, sock, ready: Promise.resolve(), ports: new Map() };
    relay.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new NodeprofError(`the relay into pid ${pid}'s network namespace did not start within ${START_TIMEOUT_MS / 1000}s`)),
        START_TIMEOUT_MS,
      );
      child.stdout!.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (this.relays.get(netns) === relay) this.relays.delete(netns);
        for (const s of relay.ports.values())
          s.then(
            (server) => server.close(),
            () => undefined,
          );
        reject(new NodeprofError(`cannot enter pid ${pid}'s network namespace (nsenter exited ${code}): ${err.trim().split('\n').pop() ?? ''}`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        if (this.relays.get(netns) === relay) this.relays.delete(netns);
        reject(new NodeprofError(`cannot run nsenter to enter pid ${pid}'s network namespace: ${errorMessage(e)}`));
      });
    });
    relay.ready.catch(() => undefined);
    this.relays.set(netns, relay);
    return relay;
  }

  /** Ends the relay of a namespace no served process uses any more. */
  drop(netns: string): void {
    const r = this.relays.get(netns);
    if (!r) return;
    this.relays.delete(netns);
    closeRelay(r);
  }

  get namespaces(): string[] {
    return [...this.relays.keys()];
  }

  close(): void {
    for (const r of this.relays.values()) closeRelay(r);
    this.relays.clear();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function closeRelay(r: Relay): void {
  for (const s of r.ports.values())
    s.then(
      (server) => server.close(),
      () => undefined,
    );
  r.child.stdin?.end();
  r.child.kill('SIGTERM');
}

/** A TCP listener on 127.0.0.1:0 whose every connection goes through the relay's socket to `port`. */
function listenLocal(sock: string, port: number): Promise<net.Server> {
  const server = net.createServer((c) => {
    const u = net.connect(sock, () => {
      u.write(`${port}\n`);
      c.pipe(u);
      u.pipe(c);
    });
    u.on('error', () => c.destroy());
    c.on('error', () => u.destroy());
    u.on('close', () => c.destroy());
    c.on('close', () => u.destroy());
  });
  server.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
