// A fake Node inspector on loopback: GET /json/list and /json/version as Node answers them, and a
// websocket (RFC 6455, written by hand so a test can send frames no library would) that answers
// each CDP command with `answer`, which may write anything to the socket.

import crypto from 'node:crypto';
import net from 'node:net';
import { frame, FrameReader } from './websocket.js';

export { frame };

export interface Command {
  id: number;
  method: string;
  params?: unknown;
}

/** Writes an answer to `cmd` (use frame()/reply()), or returns false for the default one. */
export type Answer = (cmd: Command, socket: net.Socket) => boolean | void;

export interface FakeInspector {
  port: number;
  /** Methods received, in order. */
  methods: string[];
  close(): void;
}

export function reply(socket: net.Socket, id: number, result: unknown): void {
  socket.write(frame(JSON.stringify({ id, result })));
}

const DESCRIBE = JSON.stringify({ pid: 4242, nodeVersion: 'v20.0.0', argv: ['/usr/bin/node', '/srv/app.js'], execArgv: [] });

export async function fakeInspector(answer: Answer): Promise<FakeInspector> {
  const sockets = new Set<net.Socket>();
  const methods: string[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    const onHead = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      const text = head.subarray(0, end).toString('latin1');
      const rest = head.subarray(end + 4);
      const [, path = ''] = /^GET (\S+)/.exec(text) ?? [];
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(text)?.[1];
      if (key) return upgrade(socket, key, rest);
      const port = (server.address() as net.AddressInfo).port;
      const id = '0f2c936f-b1cd-4ac9-aab3-f63b0f33d55e';
      const body =
        path === '/json/version'
          ? JSON.stringify({ Browser: 'node.js/v20.0.0', 'Protocol-Version': '1.1' })
          : JSON.stringify([
              {
                description: 'node.js instance',
                id,
                title: '/srv/app.js',
                type: 'node',
                url: 'file:///srv/app.js',
                webSocketDebuggerUrl: `ws://127.0.0.1:${port}/${id}`,
              },
            ]);
      socket.end(`HTTP/1.0 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    socket.on('data', onHead);
  });
  const upgrade = (socket: net.Socket, key: string, rest: Buffer) => {
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const frames = new FrameReader();
    const onData = (d: Buffer) => {
      for (const f of frames.push(d)) {
        if (f.opcode === 8) return void socket.end();
        if (f.opcode !== 1) continue;
        const cmd = JSON.parse(f.payload.toString()) as Command;
        methods.push(cmd.method);
        if (answer(cmd, socket) === true) continue;
        const expression = (cmd.params as { expression?: string } | undefined)?.expression ?? '';
        if (cmd.method === 'Runtime.evaluate' && expression.includes('process.pid')) reply(socket, cmd.id, { result: { type: 'string', value: DESCRIBE } });
        else if (cmd.method === 'Runtime.evaluate') reply(socket, cmd.id, { result: { type: 'undefined' } });
        else reply(socket, cmd.id, {});
      }
    };
    socket.on('data', onData);
    if (rest.length > 0) onData(rest);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    methods,
    close() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** (root) with n - 1 children, all at file:///x.js:4:6, each named differently, one sample each. */
export function crowdedProfile(n: number) {
  type Node = { id: number; callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] };
  const root: Node = { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [] };
  const nodes = [root];
  for (let id = 2; id <= n; id++) {
    nodes.push({ id, callFrame: { functionName: `f${id}`, scriptId: '7', url: 'file:///x.js', lineNumber: 3, columnNumber: 5 } });
    root.children!.push(id);
  }
  const samples = nodes.slice(1).map((x) => x.id);
  return { nodes, startTime: 0, endTime: n * 1000, samples, timeDeltas: samples.map(() => 1000) };
}
