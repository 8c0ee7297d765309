// A real terminal for tests of `nodeprof top`: the CLI runs in a detached tmux session (a server
// of our own, on its own socket), the test reads the screen with capture-pane and types with
// send-keys. The command's exit code and stderr go to files, as a terminal shows neither.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from './processes.js';
import { waitFor } from './wait.js';

const servers = new Set<string>();

export interface TmuxRun {
  /** The screen as text, one string per line. */
  screen(): string[];
  keys(...keys: string[]): void;
  /** The exit code, once the command has ended. */
  exitCode(): number | undefined;
  stderr(): string;
  waitForExit(timeoutMs?: number): Promise<number>;
}

function tmux(socket: string, args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 10_000 });
}

/** Starts `node bin/nodeprof.js <args>` in a terminal of width x height. */
export function startInTmux(args: string[], opts: { width?: number; height?: number; env?: Record<string, string> } = {}): TmuxRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-tmux-'));
  const socket = `nodeprof-test-${process.pid}-${servers.size}-${Date.now()}`;
  servers.add(socket);
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const envs = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${quote(v)} `);
  const code = path.join(dir, 'code');
  const err = path.join(dir, 'stderr');
  // The pane stays open after the command (until killTmux), so its last screen can still be read.
  const command = `${envs.join('')}${quote(process.execPath)} ${quote(CLI)} ${args.map(quote).join(' ')} 2>${quote(err)}; echo $? > ${quote(code)}; sleep 600`;
  tmux(socket, ['-f', '/dev/null', 'new-session', '-d', '-s', 'top', '-x', String(opts.width ?? 150), '-y', String(opts.height ?? 40), command]);
  const exitCode = () => {
    try {
      const text = fs.readFileSync(code, 'utf8').trim();
      return text === '' ? undefined : Number(text);
    } catch {
      return undefined;
    }
  };
  return {
    screen: () => tmux(socket, ['capture-pane', '-p', '-t', 'top']).split('\n'),
    keys: (...keys) => void tmux(socket, ['send-keys', '-t', 'top', ...keys]),
    exitCode,
    stderr: () => (fs.existsSync(err) ? fs.readFileSync(err, 'utf8') : ''),
    waitForExit: (timeoutMs = 20_000) =>
      waitFor(() => exitCode() !== undefined && exitCode()! + 1, timeoutMs, `nodeprof ${args[0]} to exit`).then((c) => c - 1),
  };
}

/** Ends every tmux server the tests started (and so whatever still runs in them). Call in afterEach. */
export function killTmux(): void {
  for (const socket of servers) {
    try {
      tmux(socket, ['kill-server']);
    } catch {
      // already gone
    }
  }
  servers.clear();
}
