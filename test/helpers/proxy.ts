// Loopback TCP stand-ins between nodeprof and a target: a proxy the test can cut (and bring back on
// the same port), and a black hole that accepts connections and never answers.

import net from 'node:net';
import { waitFor } from './wait.js';
import { clientRecorder } from './websocket.js';

export interface Proxy {
  port: number;
  /** Stops listening and drops every connection through it, as a network failure would. */
  cut(): void;
  /** Listens again on the same port (after cut). */
  restore(): Promise<void>;
  /** Resolves once n connections in all have come through (e.g. 2: the HTTP /json/list, then the websocket). */
  connections(n: number): Promise<void>;
  /** The CDP messages clients have sent through it so far (websocket text, decoded). */
  messages: string[];
  close(): void;
}

export async function proxy(targetPort: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let count = 0;
  const messages: string[] = [];
  const heads: string[] = [];
  const listen = async (port: number) => {
    const s = net.createServer((client) => {
      count++;
      const upstream = net.connect(targetPort, '127.0.0.1');
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('data', clientRecorder(heads, messages));
      const end = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
    server = s;
    return (s.address() as net.AddressInfo).port;
  };
  const port = await listen(0);
  const cut = () => {
    server?.close();
    server = undefined;
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const connections = async (n: number) => void (await waitFor(() => count >= n, 60_000, `${n} connections through the proxy`));
  return { port, cut, restore: async () => void (await listen(port)), connections, messages, close: cut };
}

/** A listener that accepts connections and never answers (a firewall that swallows, a hung peer). */
export async function blackHole(): Promise<{ port: number; connected: Promise<void>; close(): void }> {
  const sockets = new Set<net.Socket>();
  let onConnect!: () => void;
  const connected = new Promise<void>((r) => (onConnect = r));
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onConnect();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connected,
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}
