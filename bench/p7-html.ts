// P7: the HTML flame graph on generated CPU profiles of about 1, 10 and 100 MB: the size of the
// page `nodeprof view` writes, how long view takes (CLI, fresh process), and the time to first
// paint in headless Chromium (first-contentful-paint, and the page's own mark once the flame graph
// is drawn; both from navigation start). The goal: the 10 MB profile paints in under 2 s.
//
//   npm run build && node dist/bench/p7-html.js [--sizes 1,10,100] [--rounds 3]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { closeBrowsers, openPage } from '../test/helpers/browser.js';
import { profileFile } from './p2-convert.js';
import { ROOT, runScript, startCli } from './lib/procs.js';

interface Run {
  mb: number;
  inputBytes: number;
  htmlBytes: number;
  viewMs: number;
  fcpMs: number;
  drawnMs: number;
  frames: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function once(mb: number, input: string, dir: string): Promise<Run> {
  const out = path.join(dir, `p7-${mb}mb.html`);
  const started = performance.now();
  const cli = startCli(['view', input, '-o', out, '--no-open']);
  const res = await cli.exited;
  const viewMs = performance.now() - started;
  if (res.code !== 0) throw new Error(`view ${input} failed: ${cli.stderr()}`);
  const page = await openPage(pathToFileURL(out).href);
  try {
    const t = await page.evaluate<{ fcp: number; drawn: number; frames: number }>(`new Promise((resolve) => {
      const check = () => {
        const drawn = performance.getEntriesByName('nodeprof-flame-drawn')[0];
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        if (drawn && fcp) resolve({ fcp: fcp.startTime, drawn: drawn.startTime, frames: nodeprofFlame.drawn().length });
        else setTimeout(check, 20);
      };
      check();
    })`);
    if (page.requests.length !== 1) throw new Error(`the page made requests: ${page.requests.join(', ')}`);
    return { mb, inputBytes: fs.statSync(input).size, htmlBytes: fs.statSync(out).size, viewMs, fcpMs: t.fcp, drawnMs: t.drawn, frames: t.frames };
  } finally {
    await closeBrowsers();
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const sizes = (arg('--sizes') ?? '1,10,100').split(',').map(Number);
  const rounds = Number(arg('--rounds') ?? 3);
  const cacheDir = path.join(ROOT, 'bench/out/cache');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-p7-'));
  const runs: Run[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      for (const mb of sizes) {
        const run = await once(mb, profileFile(mb, cacheDir), dir);
        process.stderr.write(`round ${r + 1} ${mb} MB: ${JSON.stringify(run)}\n`);
        runs.push(run);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const mbf = (b: number) => (b / 1024 ** 2).toFixed(2);
  process.stdout.write(
    `| profile | .cpuprofile MB | HTML MB | frames drawn | view (CLI) ms | first paint ms | flame graph drawn ms |\n|---|---|---|---|---|---|---|\n`,
  );
  for (const mb of sizes) {
    const rs = runs.filter((x) => x.mb === mb);
    const m = (f: (x: Run) => number) => median(rs.map(f)).toFixed(0);
    process.stdout.write(
      `| ${mb} MB | ${mbf(rs[0]!.inputBytes)} | ${mbf(rs[0]!.htmlBytes)} | ${rs[0]!.frames} | ${m((x) => x.viewMs)} | ${m((x) => x.fcpMs)} | ${m((x) => x.drawnMs)} |\n`,
    );
  }
  process.stdout.write(`medians of ${rounds} rounds; times from navigation start (Chromium ${process.env.NODEPROF_CHROMIUM ?? 'chromium'}, headless)\n`);
  return 0;
}

runScript('p7-html', main);
