// `nodeprof attach <port> --cpu` against real Node processes, checked by decoding the output.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { FIXTURES, killAll, ranFor, runCli, startCli, startTarget } from '../helpers/processes.js';
import { cpuProfilerThreads } from '../helpers/inspect.js';
import { waitFor } from '../helpers/wait.js';
import { stacks } from '../../src/pprof/query.js';

afterEach(killAll);

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-test-'));
}

describe('attach --cpu', () => {
  test('the hot function dominates, at its file and 1-based line; -o file', async () => {
    const t = await startTarget('busy.js');
    const out = path.join(tmpdir(), 'cpu.pb.gz');
    const r = await runCli(['attach', String(t.port), '--cpu', '2s', '-o', out]);
    expect(r.stderr).toMatch(/wrote .*cpu\.pb\.gz: open it with\s+go tool pprof -http=: /);
    expect(r.code).toBe(0);
    const p = loadProfile(out);
    const { flat, total } = byFunction(p, 'cpu');
    expect(flat.get('hotFunction')! / total).toBeGreaterThan(0.7);
    const hot = stacks(p).filter((s) => s.frames[0]!.name === 'hotFunction');
    expect(hot[0]!.frames[0]!.file).toBe(path.join(FIXTURES, 'busy.js'));
    const byLine = new Map<number, number>();
    for (const s of hot) byLine.set(s.frames[0]!.line, (byLine.get(s.frames[0]!.line) ?? 0) + s.values[1]!);
    const topLine = [...byLine].sort((a, b) => b[1] - a[1])[0]![0];
    expect(topLine).toBe(8);
    // values add up to the window within sampling error, times the share of a core the busy
    // target got (cpu/nanoseconds is scaled to its measured CPU time on a loaded machine)
    const durationNs = Number(p.durationNanos);
    expect(durationNs).toBeGreaterThan(1.8e9);
    const scaled = /scaled by ([\d.]+)/.exec(p.comment.map((i) => p.stringTable.strings[Number(i)]).join('\n'));
    expect(total).toBeGreaterThan(durationNs * 0.8 * (scaled ? Number(scaled[1]) : 1));
    expect(total).toBeLessThanOrEqual(durationNs * 1.05);
    expect(Number(p.timeNanos)).toBeGreaterThan((Date.now() - 60_000) * 1e6);
  });

  test('piped stdout and -o - give the same kind of valid profile; stderr carries no data', async () => {
    const t = await startTarget('busy.js');
    const piped = await runCli(['attach', String(t.port), '--cpu', '1s']);
    expect(piped.code).toBe(0);
    expect(piped.stdout[0]).toBe(0x1f); // gzip
    expect(byFunction(loadProfile(piped.stdout), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    const dash = await runCli(['attach', `127.0.0.1:${t.port}`, '--cpu', '1s', '-o', '-']);
    expect(dash.code).toBe(0);
    expect(byFunction(loadProfile(dash.stdout), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    expect(dash.stderr).not.toMatch(/wrote/);
  });

  test('the websocket spelling, --format cpuprofile and collapsed, --top', async () => {
    const t = await startTarget('busy.js');
    const ws = /ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+/.exec(t.stderr())![0];
    const dir = tmpdir();
    const r = await runCli(['attach', ws, '--cpu', '1s', '--format', 'cpuprofile', '-o', path.join(dir, 'x.cpuprofile')]);
    expect(r.code).toBe(0);
    const v8 = JSON.parse(fs.readFileSync(path.join(dir, 'x.cpuprofile'), 'utf8'));
    expect(Array.isArray(v8.nodes)).toBe(true);
    // 1 s from the start, the profiler's own start included, on a machine that may be loaded
    expect(v8.samples.length).toBeGreaterThan(50);

    const c = await runCli(['attach', String(t.port), '--cpu', '1s', '--format', 'collapsed', '--top']);
    expect(c.code).toBe(0);
    const lines = c.stdout.toString().trim().split('\n');
    expect(lines.some((l) => /processImmediate;hotFunction \d+$/.test(l))).toBe(true);
    expect(c.stderr).toMatch(/flat%.*cum%/);
    expect(c.stderr).toMatch(/hotFunction/);
  });

  test('default file name in the current directory; --open without Go writes the HTML flame graph beside it', async () => {
    const t = await startTarget('busy.js');
    const dir = tmpdir();
    // -o is not given and stdout is piped, but --open needs a file: without Go on PATH (and no
    // display for a browser) it writes the HTML page and says where it is
    const r = await runCli(['attach', String(t.port), '--cpu', '500ms', '--open'], {
      cwd: dir,
      env: { PATH: tmpdir(), DISPLAY: '', WAYLAND_DISPLAY: '', BROWSER: '' },
    });
    expect(r.code).toBe(0);
    const files = fs.readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(new RegExp(`^nodeprof-cpu-${t.pid}-\\d{8}-\\d{6}\\.html$`));
    expect(files[1]).toBe(files[0]!.replace(/\.html$/, '.pb.gz'));
    expect(r.stderr).toMatch(/--open: Go is not installed.*https:\/\/go\.dev\/dl\/.*flame graph instead/);
    expect(r.stderr).toContain(`wrote ${files[0]}: no browser here (no DISPLAY); open it in one`);
    expect(fs.readFileSync(path.join(dir, files[0]!), 'utf8')).toContain('hotFunction');
  });
});

describe('attach: bad input and faults', () => {
  test('closed port: exit 1 quickly with one line naming the target', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const r = await runCli(['attach', String(port), '--cpu', '1s']);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`nothing is listening on 127\\.0\\.0\\.1:${port}.*--inspect`));
    expect(r.stdout.length).toBe(0);
  });

  test('a port that is not an inspector', async () => {
    const srv = http.createServer((_, res) => res.end('hello'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      const r = await runCli(['attach', String(port), '--cpu', '1s']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/is not a Node\.js inspector/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      srv.close();
    }
  });

  test.each([
    ['--cpu', 'abc'],
    ['--cpu', '-5s'],
    ['--cpu', '0'],
    ['--interval', 'x'],
  ])('bad duration %s %s: usage error, exit 2', async (flag, value) => {
    // The bad value as the only --cpu (an option given twice is an error of its own).
    const args = flag === '--cpu' ? ['attach', '9229', flag, value] : ['attach', '9229', '--cpu', '1s', flag, value];
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid/);
  });

  test('bad target spelling and no profile kind are usage errors', async () => {
    expect((await runCli(['attach', 'nonsense', '--cpu', '1s'])).code).toBe(2);
    const none = await runCli(['attach', '9229']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/nothing to collect/);
    expect((await runCli(['attach', '9229', '--cpu', '1s', '--bogus'])).code).toBe(2);
  });

  test('target exiting during the window: exit 1 with a clear message, within seconds', async () => {
    const t = await startTarget('busy.js');
    const run = startCli(['attach', String(t.port), '--cpu', '20s', '-o', path.join(tmpdir(), 'x.pb.gz')]);
    await run.waitForStderr(/collecting CPU/);
    await waitFor(() => cpuProfilerThreads(t.pid) > 0, 20_000, 'the CPU profile running in the target');
    t.proc.kill('SIGKILL');
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stderr).toMatch(/lost target .*it exited, closed its inspector or the connection dropped/);
  });

  test('SIGINT mid-window writes the partial profile and exits 0; a second attach then works', async () => {
    const t = await startTarget('busy.js');
    const out = path.join(tmpdir(), 'partial.pb.gz');
    const run = startCli(['attach', String(t.port), '--cpu', '30s', '-o', out]);
    await run.waitForStderr(/collecting CPU/);
    await waitFor(() => cpuProfilerThreads(t.pid) > 0, 20_000, 'the CPU profile running in the target');
    await ranFor(t.pid, 300); // so the partial profile has samples of hotFunction
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(15_000);
    expect(r.stderr).toMatch(/stopped early/);
    const p = loadProfile(out);
    expect(Number(p.durationNanos)).toBeLessThan(10e9);
    expect(byFunction(p, 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);

    const again = await runCli(['attach', String(t.port), '--cpu', '1s']);
    expect(again.code).toBe(0);
    expect(byFunction(loadProfile(again.stdout), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
  });
});
