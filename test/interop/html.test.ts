// The HTML flame graph as a person sees it, in real headless Chromium: the hot function is the
// widest frame under the root, search finds it, hover tells self and total, the table ranks it
// first, and the page asks the network for nothing. For attach --format html (CPU, heap, workers)
// and for `nodeprof view` on a pprof file written by Go's own pprof.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Profile, StringTable } from 'pprof-format';
import { closeBrowsers, openPage, type BrowserPage } from '../helpers/browser.js';
import { goPprof } from '../helpers/gopprof.js';
import { ROOT, killAll, runCli, startCli, startTarget } from '../helpers/processes.js';
import { toHtml } from '../../src/output/html.js';

afterEach(async () => {
  await closeBrowsers();
  await killAll();
});

interface Drawn {
  name: string;
  file: string;
  x: number;
  w: number;
  depth: number;
  total: number;
  self: number;
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-html-'));
}

async function open(file: string): Promise<BrowserPage> {
  const page = await openPage(pathToFileURL(file).href);
  // The page draws on load; wait for its first frame.
  await page.evaluate(`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))`);
  return page;
}

const drawn = (page: BrowserPage) => page.evaluate<Drawn[]>('nodeprofFlame.drawn()');

/** `name`'s frame spans most of the root, and every frame besides its own callers is narrower. */
function expectWidest(frames: Drawn[], name: string, share = 0.5): Drawn {
  const root = frames.find((d) => d.depth === 0)!;
  expect(root.name).toBe('all');
  const hot = frames.filter((d) => d.name === name).sort((a, b) => b.w - a.w)[0];
  expect(hot).toBeDefined();
  expect(hot!.w).toBeGreaterThan(root.w * share);
  const caller = (d: Drawn) => d.depth < hot!.depth && d.x <= hot!.x + 0.01 && d.x + d.w >= hot!.x + hot!.w - 0.01;
  const widestOther = Math.max(0, ...frames.filter((d) => d !== hot && d.depth > 0 && !caller(d)).map((d) => d.w));
  expect(widestOther).toBeLessThan(hot!.w);
  return hot!;
}

/** Only the page itself was loaded: no request to any other address, file or data. */
function expectNoRequests(page: BrowserPage, file: string): void {
  expect(page.requests).toEqual([pathToFileURL(file).href]);
}

async function searchFor(page: BrowserPage, text: string): Promise<string> {
  await page.type('#search', text);
  return page.evaluate<string>(`document.getElementById('status').textContent`);
}

async function hoverText(page: BrowserPage, d: Drawn): Promise<string> {
  const top = await page.evaluate<number>(`document.getElementById('flame').getBoundingClientRect().top`);
  await page.hover(d.x + d.w / 2, top + d.depth * 18 + 9);
  return page.evaluate<string>(`document.getElementById('tip').textContent`);
}

async function tableRows(page: BrowserPage): Promise<string[][]> {
  await page.evaluate(`(() => { const s = document.getElementById('view'); s.value = 'table'; s.dispatchEvent(new Event('change')); })()`);
  return page.evaluate<string[][]>(`[...document.querySelectorAll('#table tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent))`);
}

describe('attach --format html in Chromium', () => {
  test('CPU: hotFunction is the widest frame, search finds it, hover and table tell its time; no request', async () => {
    const t = await startTarget('busy.js');
    const dir = tmpdir();
    const file = path.join(dir, 'cpu.html');
    const r = await runCli(['attach', String(t.port), '--cpu', '2s', '--format', 'html', '-o', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`wrote ${file}`);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/);
    expect(html).not.toMatch(/<(link|img|iframe)\b|\bsrc=|https?:\/\/(?!www\.w3\.org)/);

    const page = await open(file);
    expect(await page.evaluate<string>('document.title')).toMatch(/^nodeprof cpu: pid \d+ \(127\.0\.0\.1:\d+\)$/);
    expect(await page.evaluate<string>(`document.getElementById('sub').textContent`)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, window \d\.\d s$/);
    const hot = expectWidest(await drawn(page), 'hotFunction');
    expect(hot.file).toBe(`${path.join(ROOT, 'fixtures/busy.js')}:5`);

    const tip = await hoverText(page, hot);
    expect(tip).toMatch(/^hotFunction\n.*busy\.js:5\ntotal [\d.]+(ms|s) \(\d+\.\d+%\)\nself [\d.]+(ms|s) \(\d+\.\d+%\)$/);

    const status = await searchFor(page, 'hotFunc');
    const m = /^search hotFunc: 1 function matched, [\d.]+(ms|s) \(([\d.]+)%\)$/.exec(status);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(50);

    const rows = await tableRows(page);
    expect(rows[0]![0]).toMatch(/^hotFunction {2}.*busy\.js:5$/);
    expect(page.requests.length).toBe(1);
    expectNoRequests(page, file);
  });

  test('heap: retainMemory is the widest inuse_space frame; the sample type selector switches to objects', async () => {
    const t = await startTarget('retain.js');
    const file = path.join(tmpdir(), 'heap.html');
    const run = startCli(['attach', String(t.port), '--heap', '--heap-window', '3s', '--format', 'html', '-o', file]);
    await run.waitForStderr(/heap: sampling allocations from now/);
    t.proc.stdin!.write('go\n');
    await t.waitForStdout(/retained 65536/);
    expect((await run.done).code).toBe(0);

    const page = await open(file);
    const types = await page.evaluate<string[]>(`[...document.getElementById('type').options].map((o) => (o.selected ? '*' : '') + o.textContent)`);
    expect(types).toEqual(['inuse_objects (count)', '*inuse_space (bytes)']);
    const hot = expectWidest(await drawn(page), 'retainMemory');
    expect(await hoverText(page, hot)).toMatch(/\ntotal [\d.]+MiB \(\d+\.\d+%\)\nself [\d.]+MiB/);
    await page.evaluate(`(() => { const s = document.getElementById('type'); s.value = '0'; s.dispatchEvent(new Event('change')); })()`);
    const objects = expectWidest(await drawn(page), 'retainMemory');
    expect(await hoverText(page, objects)).toMatch(/\ntotal [\d.]+k? \(\d+\.\d+%\)/);
    expect(await searchFor(page, 'retainMemory')).toMatch(/^search retainMemory: 1 function matched/);
    expectNoRequests(page, file);
  });

  test('--workers: a thread selector; each thread shows its own hot function; the README screenshot', async () => {
    const t = await startTarget('workers.js');
    const file = path.join(tmpdir(), 'threads.html');
    const r = await runCli(['attach', String(t.port), '--cpu', '3s', '--workers', '--format', 'html', '-o', file]);
    expect(r.code).toBe(0);
    const page = await open(file);
    const threads = await page.evaluate<string[]>(`[...document.getElementById('thread').options].map((o) => o.textContent)`);
    expect(threads).toEqual(['all threads', 'main', 'worker 1 hasher']);
    // All threads side by side: one frame per thread under the root.
    const all = await drawn(page);
    expect(
      all
        .filter((d) => d.depth === 1)
        .map((d) => d.name)
        .sort(),
    ).toEqual(['[main]', '[worker 1 hasher]']);
    // What is drawn, and a little below it.
    const bottom = await page.evaluate<number>(`document.getElementById('flame').getBoundingClientRect().bottom`);
    // README's picture: rewritten with NODEPROF_UPDATE_SCREENSHOT=1 (else taken into the temp dir, so
    // a test run leaves the checkout as it was).
    const png = process.env.NODEPROF_UPDATE_SCREENSHOT === '1' ? path.join(ROOT, 'docs/flamegraph.png') : path.join(tmpdir(), 'flamegraph.png');
    await page.screenshot(png, Math.ceil(bottom) + 12);
    expect(fs.readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    const pick = (i: number) =>
      page.evaluate(`(() => { const s = document.getElementById('thread'); s.value = '${i}'; s.dispatchEvent(new Event('change')); })()`);
    await pick(2);
    expectWidest(await drawn(page), 'workerHotFunction');
    expect((await drawn(page)).some((d) => d.name === 'mainHotFunction')).toBe(false);
    await pick(1);
    const main = await drawn(page);
    expect(main.some((d) => d.name === 'mainHotFunction')).toBe(true);
    expect(main.some((d) => d.name === 'workerHotFunction')).toBe(false);
    expectNoRequests(page, file);
  });
});

describe('nodeprof view in Chromium', () => {
  test('a pprof file written by go tool pprof -proto: hotFunction is the widest frame; no browser here, so the path is printed', async () => {
    const t = await startTarget('busy.js');
    const dir = tmpdir();
    const ours = path.join(dir, 'ours.pb.gz');
    expect((await runCli(['attach', String(t.port), '--cpu', '2s', '-o', ours])).code).toBe(0);
    const go = await goPprof(['-proto', '-output', path.join(dir, 'go.pb.gz'), ours]);
    expect(go.code).toBe(0);

    const r = await runCli(['view', path.join(dir, 'go.pb.gz')], { cwd: dir, env: { DISPLAY: '', WAYLAND_DISPLAY: '', BROWSER: '' } });
    expect(r.code).toBe(0);
    const file = path.join(dir, 'go.html');
    expect(r.stderr).toContain(`wrote ${'go.html'}: no browser here`);
    const page = await open(file);
    expect(await page.evaluate<string>('document.title')).toBe('nodeprof cpu: go.pb.gz');
    expectWidest(await drawn(page), 'hotFunction');
    const found = /^search hotFunction: 1 function matched, [\d.]+(ms|s) \(([\d.]+)%\)$/.exec(await searchFor(page, 'hotFunction'));
    expect(Number(found?.[2])).toBeGreaterThan(50);
    expectNoRequests(page, file);
  });

  test('a function named </script><script>… shows as text and runs nothing', async () => {
    const hostile = '</script><script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">';
    const strings = new StringTable();
    const profile = new Profile({
      sampleType: [{ type: strings.dedup('samples'), unit: strings.dedup('count') }],
      function: [{ id: 1, name: strings.dedup(hostile), filename: strings.dedup('evil.js') }],
      location: [{ id: 1, line: [{ functionId: 1, line: 3 }] }],
      sample: [{ locationId: [1], value: [5] }],
      stringTable: strings,
    });
    const file = path.join(tmpdir(), 'hostile.html');
    fs.writeFileSync(file, toHtml(profile, { target: hostile }));
    const page = await open(file);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(await page.evaluate<string>('document.title')).toBe(`nodeprof samples: ${hostile}`);
    expect((await drawn(page)).map((d) => d.name)).toEqual(['all', hostile]);
    expect((await tableRows(page))[0]![0]).toBe(`${hostile}  evil.js:3`);
    expectNoRequests(page, file);
  });
});
