// `nodeprof serve`: the /debug/pprof/ facade in front of a real Node process, checked over HTTP.
import { afterEach, describe, expect, test } from '@jest/globals';
import path from 'node:path';
import { decodePprof } from '../../src/pprof/encode.js';
import { findInspectorTarget } from '../../src/target/discover.js';
import { connectWebSocket } from '../../src/target/remote.js';
import { byFunction, loadProfile, sampleTypes } from '../helpers/profiles.js';
import { FIXTURES, killAll, runCli, startTarget } from '../helpers/processes.js';
import { request, startServe } from '../helpers/serve.js';
import { DOCUMENTED_ROUTES, PPROF_KINDS } from '../helpers/routes.js';
import { waitFor } from '../helpers/wait.js';
import { profilersRunning } from '../helpers/inspect.js';
import { str } from '../../src/pprof/query.js';

afterEach(killAll);

function expectGoError(a: { status: number; headers: Record<string, unknown>; text: string }, status: number, reason?: RegExp) {
  expect({ status: a.status, text: a.text }).toEqual({ status, text: expect.any(String) });
  expect(a.headers['x-go-pprof']).toBe('1');
  expect(a.headers['x-content-type-options']).toBe('nosniff');
  expect(a.headers['content-type']).toBe('text/plain; charset=utf-8');
  if (reason) expect(a.text).toMatch(reason);
}

describe('nodeprof serve', () => {
  test('the index lists every profile, and every link on it answers', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port);
    const index = await request(s.url);
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.text).toContain(`pid ${t.pid}`);
    expect(index.text).toMatch(/inuse mode.*--heap-mode alloc/);
    const links = [...index.text.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    for (const name of DOCUMENTED_ROUTES) {
      expect(links.some((l) => l === name || l.startsWith(`${name}?`))).toBe(true);
    }
    const answers = await Promise.all(links.map(async (l) => [l, await request(s.url + l)] as const));
    for (const [link, a] of answers) {
      expect({ link, status: a.status }).toEqual({ link, status: 200 });
      const name = link.split('?')[0]!;
      if ((name === 'profile' || PPROF_KINDS.includes(name)) && !link.includes('debug')) {
        expect(a.headers['content-type']).toBe('application/octet-stream');
        expect(a.headers['content-disposition']).toBe(`attachment; filename="${name}"`);
        loadProfile(a.body);
      }
    }
    const get = (l: string) => answers.find(([link]) => link === l)![1];
    expect(byFunction(loadProfile(get('profile?seconds=5').body), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    expect(sampleTypes(loadProfile(get('heap').body))).toEqual(['inuse_objects/count', 'inuse_space/bytes']);
    expect(sampleTypes(loadProfile(get('block').body))).toEqual(['contentions/count', 'delay/nanoseconds']);
    expect(sampleTypes(loadProfile(get('mutex').body))).toEqual(['contentions/count', 'delay/nanoseconds']);
    expect(sampleTypes(loadProfile(get('threadcreate').body))).toEqual(['threadcreate/count']);
    expect(loadProfile(get('block').body).sample).toHaveLength(0);
    // busy.js spends nearly all its time in hotFunction, so its stack is what goroutine sees (no pause needed)
    const g = loadProfile(get('goroutine').body);
    expect(sampleTypes(g)).toEqual(['goroutine/count']);
    expect(g.sample).toHaveLength(1);
    expect(get('goroutine?debug=2').text).toMatch(/^thread main \[(running|idle)\]:/);
    // cmdline: node, its options, the script, NUL-separated
    expect(get('cmdline').text.split('\0')).toEqual([process.execPath, '--inspect=127.0.0.1:0', path.join(FIXTURES, 'busy.js')]);
    expect(get('symbol').text).toBe('num_symbols: 1\n');
    const trace = JSON.parse(get('trace?seconds=1').text) as { traceEvents: Array<{ ph: string; pid: number }> };
    expect(trace.traceEvents.length).toBeGreaterThan(0);
    expect(trace.traceEvents.some((e) => e.pid === t.pid)).toBe(true);
    const v8 = JSON.parse(get('cpuprofile?seconds=5').text) as { nodes: unknown[]; samples: number[] };
    expect(v8.nodes.length).toBeGreaterThan(1);
    const snapshot = JSON.parse(get('heapsnapshot').text) as { snapshot: { node_count: number } };
    expect(snapshot.snapshot.node_count).toBeGreaterThan(1000);
    // one line per request on stderr
    expect(s.stderr()).toMatch(/GET \/debug\/pprof\/heap 200 \d+ms/);
  });

  test('symbol resolves the addresses a profile carries, by GET and POST, as Go does', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port);
    const p = decodePprof((await request(`${s.url}profile?seconds=1`)).body);
    const names = new Map(p.function.map((f) => [Number(f.id), str(p, f.name)]));
    const want = p.location.map((l) => `0x${l.address.toString(16)} ${names.get(Number(l.line[0]!.functionId))}`);
    expect(want.length).toBeGreaterThan(1);
    const addresses = p.location.map((l) => `0x${l.address.toString(16)}`);
    const post = await request(`${s.url}symbol`, { method: 'POST', body: [...addresses, '0x1'].join('+') });
    expect(post.status).toBe(200);
    expect(post.text.trim().split('\n')).toEqual(['num_symbols: 1', ...want]);
    const get = await request(`${s.url}symbol?${addresses[0]}`);
    expect(get.text).toBe(`num_symbols: 1\n${want[0]}\n`);
    // heap and goroutine answers come from the same address book: the same frame, the same address
    const g1 = decodePprof((await request(`${s.url}goroutine`)).body);
    const g2 = decodePprof((await request(`${s.url}goroutine`)).body);
    const byFrame = (q: typeof g1) => new Map(q.location.map((l) => [l.address.toString(), l.line[0]!.line.toString()]));
    for (const [addr, line] of byFrame(g2)) if (byFrame(g1).has(addr)) expect(byFrame(g1).get(addr)).toBe(line);
  });

  test('bad parameters 400, unknown profiles 404, a foreign Host 403: plain text with X-Go-Pprof', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port, ['--max-seconds', '60', '--quiet']);
    for (const q of ['profile?seconds=abc', 'profile?seconds=0', 'profile?seconds=-1', 'profile?seconds=61', 'trace?seconds=1e3', 'heap?seconds=1&debug=1']) {
      expectGoError(await request(s.url + q), 400);
    }
    expectGoError(await request(`${s.url}profile?seconds=61`), 400, /--max-seconds/);
    expectGoError(await request(`${s.url}nosuch`), 404, /Unknown profile/);
    expectGoError(await request(s.url.replace('/debug/pprof/', '/other')), 404);
    expectGoError(await request(`${s.url}heap`, { method: 'DELETE' }), 405);
    expectGoError(await request(`${s.url}heap`, { headers: { Host: `evil.example.com:${s.port}` } }), 403, /DNS rebinding/);
    expect((await request(`${s.url}heap`, { headers: { Host: `localhost:${s.port}` } })).status).toBe(200);
    // --quiet: no request lines
    expect(s.stderr()).not.toMatch(/GET \/debug/);
  });

  test("Go's answers where a client could depend on them: POST, debug=abc, the 301 with a body, debug=1 as Go's text (docs/go-parity.md)", async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port, ['--quiet']);
    const binary = (a: { status: number; headers: Record<string, unknown>; body: Buffer }, name: string) => {
      expect(a.status).toBe(200);
      expect(a.headers['content-disposition']).toBe(`attachment; filename="${name}"`);
      return loadProfile(a.body);
    };
    expect(sampleTypes(binary(await request(`${s.url}heap`, { method: 'POST', body: 'x=1' }), 'heap'))).toEqual(['inuse_objects/count', 'inuse_space/bytes']);
    expect(byFunction(binary(await request(`${s.url}profile?seconds=1`, { method: 'POST' }), 'profile'), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    for (const q of ['goroutine?debug=abc', 'goroutine?debug=-1', 'goroutine?debug='])
      expect(sampleTypes(binary(await request(s.url + q), 'goroutine'))).toEqual(['goroutine/count']);
    binary(await request(`${s.url}heap?gc=yes`), 'heap');
    const del = await request(`${s.url}heap`, { method: 'DELETE' });
    expectGoError(del, 405, /DELETE is not supported here: use GET or POST/);
    expect(del.headers.allow).toBe('GET, HEAD, POST');
    // /debug/pprof without the slash: Go's 301, its body and type, the query kept (escaped in the body)
    const moved = await request(`${s.url.replace(/\/$/, '')}?a=1&b=%22x%22`);
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe('/debug/pprof/?a=1&b=%22x%22');
    expect(moved.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(moved.text).toBe('<a href="/debug/pprof/?a=1&amp;b=%22x%22">Moved Permanently</a>.\n\n');
    // debug=1: Go's text, as google/pprof's legacy parser reads it
    const heap = await request(`${s.url}heap?debug=1`);
    expect(heap.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(heap.text).toMatch(/^heap profile: (\d+): (\d+) \[\1: \2\] @ heap\/1048576\n/);
    const goroutine = (await request(`${s.url}goroutine?debug=1`)).text.split('\n');
    expect(goroutine[0]).toBe('goroutine profile: total 1');
    expect(goroutine[1]).toMatch(/^1 @( 0x[0-9a-f]+)+$/);
    expect(goroutine[2]).toBe('# labels: {"thread":"main"}');
    expect(goroutine[3]).toMatch(/^#\t0x[0-9a-f]+\t\S.*\+0x0/);
  });

  test('a token is needed off loopback, and checked on every request', async () => {
    const t = await startTarget('busy.js');
    const refused = await runCli(['serve', '--target', String(t.port), '--listen', '0.0.0.0:0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--token/);
    const s = await startServe(t.port, ['--token', 's3cret-0123456789']);
    expectGoError(await request(`${s.url}heap`), 401, /token/);
    expectGoError(await request(`${s.url}heap`, { headers: { Authorization: 'Bearer wrong' } }), 401);
    expectGoError(await request(`${s.url}heap?token=s3cret-012345678`), 401);
    expect((await request(`${s.url}heap`, { headers: { Authorization: 'Bearer s3cret-0123456789' } })).status).toBe(200);
    expect((await request(`${s.url}heap?token=s3cret-0123456789`)).status).toBe(200);
    // the token is never logged
    expect(s.stderr()).not.toContain('s3cret-0123456789');
    // the index carries a token given in its URL into its links
    expect((await request(`${s.url}?token=s3cret-0123456789`)).text).toContain('href="heap?token=s3cret-0123456789"');
  });

  test('the target dies: 503 with the reason; it comes back on the same port: served again', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port);
    expect((await request(`${s.url}heap`)).status).toBe(200);
    t.proc.kill('SIGKILL');
    await t.exited;
    const gone = await waitFor(async () => ((a) => a.status !== 200 && a)(await request(`${s.url}heap`)), 20_000, 'serve to see the target gone');
    expectGoError(gone, 503, /is gone/);
    expectGoError(await request(`${s.url}profile?seconds=1`), 503);
    const t2 = await startTarget('busy.js', { inspect: false, nodeArgs: [`--inspect=127.0.0.1:${t.port}`] });
    await waitFor(async () => (await request(`${s.url}heap`)).status === 200, 30_000, 'serve to reattach and answer heap');
    expect((await request(s.url)).text).toContain(`pid ${t2.pid}`);
    expect(byFunction(loadProfile((await request(`${s.url}profile?seconds=1`)).body), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    expect(s.stderr()).toMatch(/went away/);
    expect(s.stderr()).toMatch(/reattached/);
  });

  test('SIGTERM while a CPU window runs: exits 0 and leaves no heap sampler in the target', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port);
    const inflight = request(`${s.url}profile?seconds=60`).catch((e: Error) => e);
    await waitFor(async () => (await profilersRunning(t.port)).includes('1 CPU profile(s)'), 20_000, 'the CPU window running in the target');
    s.run.proc.kill('SIGTERM');
    const r = await s.run.done;
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(60_000);
    const answer = await inflight;
    if (!(answer instanceof Error)) expect(answer.status).toBe(503);
    const session = await connectWebSocket((await findInspectorTarget('127.0.0.1', t.port)).webSocketDebuggerUrl, 'test');
    try {
      await expect(session.send('HeapProfiler.getSamplingProfile')).rejects.toThrow(/not started/);
    } finally {
      await session.close();
    }
  });
});

describe('nodeprof serve start-up errors', () => {
  test('no target, or the listen address in use: one line, exit 1', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port, ['--quiet']);
    const inUse = await runCli(['serve', '--target', String(t.port), '--listen', `127.0.0.1:${s.port}`]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/^nodeprof: cannot listen on 127\.0\.0\.1:\d+: the address is in use/);
    expect(inUse.stderr.trim().split('\n')).toHaveLength(1);
    // the failed serve never touched the target: the running one's heap sampler still answers
    expect((await request(`${s.url}heap`)).status).toBe(200);
    t.proc.kill('SIGKILL');
    await t.exited;
    const none = await runCli(['serve', '--target', String(t.port), '--listen', '127.0.0.1:0']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/nothing is listening on 127\.0\.0\.1:\d+/);
    const bad = await runCli(['serve', '--target', '9229', '--heap-mode', 'both']);
    expect(bad.code).toBe(2);
  });
});

describe('nodeprof serve and other inspector clients', () => {
  test('someone else stops the one heap sampler: the next heap request starts it again', async () => {
    const t = await startTarget('retain.js');
    const s = await startServe(t.port, ['--quiet']);
    expect((await request(`${s.url}heap`)).status).toBe(200);
    const other = await connectWebSocket((await findInspectorTarget('127.0.0.1', t.port)).webSocketDebuggerUrl, 'test');
    try {
      await other.send('HeapProfiler.stopSampling');
      await expect(other.send('HeapProfiler.getSamplingProfile')).rejects.toThrow(/not started/);
    } finally {
      await other.close();
    }
    const again = await request(`${s.url}heap`);
    expect(again.status).toBe(200);
    loadProfile(again.body);
  });
});

describe('serve trace categories', () => {
  test("an unknown category is the request's fault: 400 with the reason, X-Go-Pprof", async () => {
    const t = await startTarget('busy.js');
    const serving = await startServe(t.port);
    const bad = await request(`${serving.url}trace?seconds=1&categories=node,no.such.category`);
    expect(bad.status).toBe(400);
    expect(bad.headers['x-go-pprof']).toBe('1');
    expect(bad.text).toMatch(/unknown trace category 'no\.such\.category'/);
    const good = await request(`${serving.url}trace?seconds=1&categories=node.perf,v8`);
    expect(good.status).toBe(200);
    expect(Array.isArray((JSON.parse(good.text) as { traceEvents: unknown[] }).traceEvents)).toBe(true);
    serving.run.proc.kill('SIGINT');
    expect((await serving.run.done).code).toBe(0);
  });
});
