// Every HeapProfiler.getSamplingProfile is a full GC in the target (the inspector starts V8's
// sampler with kSamplingForceGC), so serve reads the sampler at most once per --heap-read-interval
// (60 s): heap and allocs answer from the last read meanwhile and say how old it is; ?gc=1 and a
// ?seconds= delta read at once; --heap-read-interval 0 reads for every request.
import { afterEach, expect, test } from '@jest/globals';
import { decodePprof } from '../../src/pprof/encode.js';
import { killAll, runCli, startTarget } from '../helpers/processes.js';
import { proxy, type Proxy } from '../helpers/proxy.js';
import { request, startServe } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: Array<() => void> = [];
afterEach(async () => {
  cleanups.splice(0).forEach((c) => c());
  await killAll();
});

const reads = (p: Proxy) => p.messages.filter((m) => (JSON.parse(m) as { method?: string }).method === 'HeapProfiler.getSamplingProfile').length;
const comments = (body: Buffer) => {
  const p = decodePprof(body);
  return p.comment.map((i) => p.stringTable.strings[Number(i)]!);
};

test('heap and allocs within the interval answer from one read, saying how old; gc=1 and seconds= read now', async () => {
  const t = await startTarget('retain.js');
  const p = await proxy(t.port);
  cleanups.push(p.close);
  const s = await startServe(p.port);
  t.proc.stdin!.write('go\n'); // retain 64 MiB: live samples for the inuse sampler
  // Until the sampler has samples, a read is kept only as long as the sampler had run: soon read again.
  await waitFor(async () => decodePprof((await request(`${s.url}heap`)).body).sample.length > 0, 20_000, 'heap samples');
  const n = reads(p);
  // Old enough for the answer to say so (ages under a second are not mentioned).
  await new Promise((r) => setTimeout(r, 1200));
  const allocs = await request(`${s.url}allocs`);
  expect(allocs.status).toBe(200);
  expect(reads(p)).toBe(n);
  expect(comments(allocs.body).join('\n')).toMatch(/read from the target \ds ago: serve reads V8's heap sampler at most every 60s .*--heap-read-interval/);
  expect((await request(`${s.url}heap?gc=1`)).status).toBe(200);
  expect(reads(p)).toBe(n + 1);
  expect((await request(`${s.url}heap?seconds=1`)).status).toBe(200);
  expect(reads(p)).toBe(n + 3);
}, 120_000);

test('--heap-read-interval 0 reads for every request', async () => {
  const t = await startTarget('retain.js');
  const p = await proxy(t.port);
  cleanups.push(p.close);
  const s = await startServe(p.port, ['--heap-read-interval', '0']);
  for (let i = 1; i <= 3; i++) {
    const a = await request(`${s.url}heap`);
    expect(a.status).toBe(200);
    await waitFor(() => reads(p) === i, 5000, `read ${i}`);
    expect(comments(a.body).join('\n')).not.toMatch(/read from the target/);
  }
}, 120_000);

test('a bad --heap-read-interval is a usage error', async () => {
  const r = await runCli(['serve', '--target', '9229', '--heap-read-interval', 'soon']);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/--heap-read-interval/);
});
