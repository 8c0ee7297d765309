// A hostile target steers which files nodeprof reads through its sourceMappingURL comments and its
// script URLs. nodeprof (root here, as in CI) must not read a root-only file outside the script's
// package, nor open a FIFO or device, nor read a huge file: each such map gives one warning, soon,
// within bounded memory, and nothing of any file's content reaches stderr or the profile.
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { loadProfile } from '../helpers/profiles.js';
import { FIXTURES, killAll, runCli, startTarget, type CliResult } from '../helpers/processes.js';
import { hotSpot, sm } from '../helpers/source-maps.js';
import { stacks } from '../../src/pprof/query.js';
import { request, startServe } from '../helpers/serve.js';

afterEach(killAll);

const MARKER = 'NODEPROF-SM-SECRET-7f3a9c';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-sm-hostile-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

// nodeprof's peak resident memory, written by a preload at its exit.
const HWM_PRELOAD = path.join(TMP, 'hwm.cjs');
fs.writeFileSync(
  HWM_PRELOAD,
  `process.on('exit', () => { const fs = require('fs'); const m = /VmHWM:\\s*(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8')); if (m) fs.writeFileSync(process.env.NODEPROF_TEST_HWM_FILE, m[1]); });\n`,
);
/** nodeprof's own VmHWM stays below this (a normal run is about 60-90 MiB). */
const MAX_HWM_KB = 200 * 1024;

// As fixtures/busy.js: about 20 ms a call, each call started after the profiler attached.
const HOT = `let sink = 0;
function hotFunction() {
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += Math.sqrt(i) * Math.sin(i);
  sink += x;
  setImmediate(hotFunction);
}
setImmediate(hotFunction);
`;

let n = 0;
/** A fresh directory with a script ending in `//# sourceMappingURL=<mapUrl>` (no package.json: its directory is its package). */
function scriptWithMap(mapUrl: (dir: string) => string): { dir: string; script: string } {
  const dir = path.join(TMP, `case-${++n}`);
  fs.mkdirSync(dir);
  const script = path.join(dir, 'main.js');
  fs.writeFileSync(script, `${HOT}process.stdout.write(\`ready \${process.pid}\\n\`);\n//# sourceMappingURL=${mapUrl(dir)}\n`);
  return { dir, script };
}

/** A root-only file (0600) holding the marker, in a directory of its own. */
function rootOnly(dir = fs.mkdtempSync(path.join(TMP, 'secret-'))): string {
  const f = path.join(dir, 'secret.map');
  fs.writeFileSync(f, `root:${MARKER}:19000:0:99999:7:::\n`, { mode: 0o600 });
  return f;
}

interface Run {
  r: CliResult;
  warnings: string[];
  hwmKb: number;
  pprof: Buffer;
}

/** attach --cpu to `script`, with the HWM preload; the profile goes to a file. */
async function attach(script: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<Run> {
  const t = await startTarget(path.relative(FIXTURES, script), { args });
  const out = path.join(TMP, `cpu-${++n}.pb.gz`);
  const hwmFile = path.join(TMP, `hwm-${n}`);
  const r = await runCli(['attach', String(t.port), '--cpu', '500ms', '-o', out], {
    timeoutMs: 30_000,
    env: { NODE_OPTIONS: `--require ${HWM_PRELOAD}`, NODEPROF_TEST_HWM_FILE: hwmFile, ...env },
  });
  const hwmKb = fs.existsSync(hwmFile) ? Number(fs.readFileSync(hwmFile, 'utf8')) : NaN;
  return {
    r,
    warnings: r.stderr.split('\n').filter((l) => l.startsWith('warning')),
    hwmKb,
    pprof: fs.existsSync(out) ? fs.readFileSync(out) : Buffer.alloc(0),
  };
}

/** What every hostile case must show: a profile, one warning, soon, little memory, no marker. */
function expectContained(run: Run, reason: RegExp, script: string): void {
  expect(run.r.signal).toBeNull();
  expect(run.r.code).toBe(0);
  expect(run.warnings).toHaveLength(1);
  expect(run.warnings[0]).toMatch(new RegExp(`^warning: source map for ${script.replace(/[.]/g, '\\.')}: `));
  expect(run.warnings[0]).toMatch(reason);
  // 500 ms of profiling, start-up and conversion on a loaded 2-core machine: seconds, not a hang.
  expect(run.r.ms).toBeLessThan(10_000);
  expect(run.hwmKb).toBeLessThan(MAX_HWM_KB);
  expect(run.r.stderr).not.toContain(MARKER);
  expect(zlib.gunzipSync(run.pprof).includes(MARKER)).toBe(false);
  expect(stacks(loadProfile(run.pprof)).some((s) => s.frames[0]!.name === 'hotFunction')).toBe(true);
}

describe('a sourceMappingURL naming what is not a map next to its script', () => {
  test("/etc/shadow: not followed (outside the script's package), nothing of it shown", async () => {
    const { script } = scriptWithMap(() => '/etc/shadow');
    const run = await attach(script);
    expectContained(run, /\/etc\/shadow is not followed: maps are read only inside the script's package/, script);
  });

  test('a root-only file elsewhere, by absolute path and by ../: not followed', async () => {
    const secret = rootOnly();
    const { script } = scriptWithMap(() => secret);
    expectContained(await attach(script), /secret\.map is not followed: maps are read only inside the script's package/, script);
    const rel = scriptWithMap((dir) => path.relative(dir, secret));
    expectContained(await attach(rel.script), /secret\.map is not followed/, rel.script);
  });

  test('a symlink beside the script to a root-only file elsewhere: not followed', async () => {
    const secret = rootOnly();
    const { script } = scriptWithMap((dir) => {
      fs.symlinkSync(secret, path.join(dir, 'main.js.map'));
      return 'main.js.map';
    });
    expectContained(await attach(script), /main\.js\.map is not followed/, script);
  });

  test('a root-only file beside the script: read (it is in the package), only "not valid JSON" said of it', async () => {
    const { script } = scriptWithMap((dir) => path.basename(rootOnly(dir)));
    expectContained(await attach(script), /secret\.map is not valid JSON/, script);
  });

  test('/dev/zero: not followed, nothing allocated for it', async () => {
    const { script } = scriptWithMap(() => '/dev/zero');
    expectContained(await attach(script), /\/dev\/zero is not followed/, script);
  });

  test('a symlink beside the script to /dev/zero: a character device, never opened', async () => {
    const { script } = scriptWithMap((dir) => {
      fs.symlinkSync('/dev/zero', path.join(dir, 'main.js.map'));
      return 'main.js.map';
    });
    expectContained(await attach(script), /main\.js\.map is a character device, not a regular file/, script);
  });

  test('a FIFO beside the script: never waited on', async () => {
    const { script } = scriptWithMap((dir) => {
      execFileSync('mkfifo', [path.join(dir, 'main.js.map')]);
      return 'main.js.map';
    });
    expectContained(await attach(script), /main\.js\.map is a FIFO, not a regular file/, script);
  });

  test('a 1 GiB sparse file beside the script: larger than the bound, not read', async () => {
    const { script } = scriptWithMap((dir) => {
      fs.closeSync(fs.openSync(path.join(dir, 'main.js.map'), 'w'));
      fs.truncateSync(path.join(dir, 'main.js.map'), 1024 ** 3);
      return 'main.js.map';
    });
    expectContained(await attach(script), /main\.js\.map is larger than 64\.0 MiB \(1\.00 GiB; NODEPROF_SOURCE_MAP_MAX_SIZE raises the bound\)/, script);
    fs.rmSync(path.join(path.dirname(script), 'main.js.map'));
  });
});

describe('a script URL naming what is not a script (vm.runInThisContext with such a filename)', () => {
  // The profile's frames then carry that path as their URL, which nodeprof reads to find a map comment.
  const runner = path.join(TMP, 'vm-runner.js');
  fs.writeFileSync(
    runner,
    `require('vm').runInThisContext(${JSON.stringify(HOT)}, { filename: process.argv[2] });\nprocess.stdout.write(\`ready \${process.pid}\\n\`);\n`,
  );

  test.each([
    ['a FIFO', (f: string) => execFileSync('mkfifo', [f]), /: the script is a FIFO, not a regular file;/],
    ['a symlink to /dev/zero', (f: string) => fs.symlinkSync('/dev/zero', f), /: the script is a character device, not a regular file;/],
  ])('%s: one warning, never opened', async (_what, make, reason) => {
    const fake = path.join(fs.mkdtempSync(path.join(TMP, 'fake-')), 'fake.js');
    make(fake);
    const run = await attach(runner, {}, [fake]);
    expectContained(run, reason, fake);
  });

  test('a 1 GiB sparse file (one line of NUL bytes): only its tail is read, no warning', async () => {
    const fake = path.join(fs.mkdtempSync(path.join(TMP, 'fake-')), 'fake.js');
    fs.closeSync(fs.openSync(fake, 'w'));
    fs.truncateSync(fake, 1024 ** 3);
    const run = await attach(runner, {}, [fake]);
    fs.rmSync(fake);
    expect(run.r.code).toBe(0);
    expect(run.warnings).toEqual([]);
    expect(run.r.ms).toBeLessThan(10_000);
    expect(run.hwmKb).toBeLessThan(MAX_HWM_KB);
  });
});

describe('maps that are followed', () => {
  /** The tsc-cjs fixture as a package laid out dist/ + maps/ + src/, hot.js pointing to ../maps/hot.js.map. */
  function siblingMapsPackage(withPackageJson: boolean): string {
    const dir = path.join(TMP, `pkg-${++n}`);
    fs.cpSync(sm('tsc-cjs'), path.join(dir, 'dist'), { recursive: true });
    fs.cpSync(sm('src/tsc-cjs'), path.join(dir, 'src/tsc-cjs'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'maps'));
    for (const f of ['hot.js.map', 'main.js.map']) {
      const map = JSON.parse(fs.readFileSync(path.join(dir, 'dist', f), 'utf8')) as { sources: string[] };
      // sources resolve against the map's own URL: from maps/ as from dist/, one level below the package
      fs.writeFileSync(path.join(dir, 'maps', f), JSON.stringify(map));
      fs.rmSync(path.join(dir, 'dist', f));
    }
    for (const f of ['hot.js', 'main.js']) {
      const js = path.join(dir, 'dist', f);
      fs.writeFileSync(js, fs.readFileSync(js, 'utf8').replace(`//# sourceMappingURL=${f}.map`, `//# sourceMappingURL=../maps/${f}.map`));
    }
    // dist/ keeps its own package.json ({"type": "commonjs"}), as builds often have: the outermost one counts
    if (withPackageJson) fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"sibling-maps","private":true}\n');
    else fs.rmSync(path.join(dir, 'dist/package.json'));
    return dir;
  }

  test('in a sibling maps/ directory of the same package: followed; without a package.json above, not', async () => {
    const dir = siblingMapsPackage(true);
    const { r, warnings, pprof } = await attach(path.join(dir, 'dist/main.js'));
    expect(r.code).toBe(0);
    expect(warnings).toEqual([]);
    const ts = hotSpot(path.join(dir, 'src/tsc-cjs/hot.ts'));
    const leaves = stacks(loadProfile(pprof)).filter((s) => s.frames[0]!.name === 'hotFunction');
    expect(leaves.length).toBeGreaterThan(0);
    expect(new Set(leaves.map((s) => s.frames[0]!.file))).toEqual(new Set([ts.file]));

    const bare = siblingMapsPackage(false);
    const run = await attach(path.join(bare, 'dist/main.js'));
    expect(run.r.code).toBe(0);
    expect(run.warnings).toEqual([expect.stringMatching(/maps\/hot\.js\.map is not followed: maps are read only inside the script's package \(.*\/dist\)/)]);
  });

  test('NODEPROF_SOURCE_MAP_MAX_SIZE bounds a normal map too; a bad value is a usage error', async () => {
    const run = await attach(sm('tsc-cjs/main.js'), { NODEPROF_SOURCE_MAP_MAX_SIZE: '100' });
    expect(run.r.code).toBe(0);
    expect(run.warnings).toEqual([expect.stringMatching(/hot\.js\.map is larger than 100 B \(/)]);
    const bad = await runCli(['attach', '1', '--cpu', '1s'], { env: { NODEPROF_SOURCE_MAP_MAX_SIZE: 'lots' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("nodeprof: invalid NODEPROF_SOURCE_MAP_MAX_SIZE 'lots': give a positive size such as 512KiB, 64k, 1MiB or a number of bytes\n");
  });
});

describe('stack and serve go through the same reads', () => {
  test('stack: a FIFO map beside the running script gives one warning and the stacks, at once', async () => {
    const { script } = scriptWithMap((dir) => {
      execFileSync('mkfifo', [path.join(dir, 'main.js.map')]);
      return 'main.js.map';
    });
    const t = await startTarget(path.relative(FIXTURES, script));
    const r = await runCli(['stack', String(t.port)], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('warning'))).toEqual([expect.stringMatching(/main\.js\.map is a FIFO, not a regular file/)]);
    expect(r.stdout.toString()).toContain(`hotFunction (${script}:`);
    expect(r.ms).toBeLessThan(10_000);
  });

  test('serve /profile: a symlink to /dev/zero as the map gives a profile and one warning in its log', async () => {
    const { script } = scriptWithMap((dir) => {
      fs.symlinkSync('/dev/zero', path.join(dir, 'main.js.map'));
      return 'main.js.map';
    });
    const t = await startTarget(path.relative(FIXTURES, script));
    const serving = await startServe(t.port);
    const cpu = await request(`${serving.url}profile?seconds=1`, { timeoutMs: 30_000 });
    expect(cpu.status).toBe(200);
    expect(stacks(loadProfile(cpu.body)).some((s) => s.frames[0]!.name === 'hotFunction')).toBe(true);
    serving.run.proc.kill('SIGINT');
    const done = await serving.run.done;
    expect(done.stderr.split('\n').filter((l) => l.startsWith('warning'))).toEqual([
      expect.stringMatching(/main\.js\.map is a character device, not a regular file/),
    ]);
  });
});
