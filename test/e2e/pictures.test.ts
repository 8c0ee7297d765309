// attach --format speedscope / html and `nodeprof view` from the command line: file names, the
// speedscope file's threads, and one-line errors for files that are not profiles.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAll, runCli, startTarget } from '../helpers/processes.js';

afterEach(killAll);

const tmpdir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-pictures-'));
const noBrowser = { DISPLAY: '', WAYLAND_DISPLAY: '', BROWSER: '' };

describe('attach --format speedscope', () => {
  test('--workers: one profile per thread, in nanoseconds; -o <dir> names it *.speedscope.json', async () => {
    const t = await startTarget('workers.js');
    const dir = tmpdir();
    const r = await runCli(['attach', String(t.port), '--cpu', '2s', '--workers', '--format', 'speedscope', '-o', dir]);
    expect(r.code).toBe(0);
    const files = fs.readdirSync(dir);
    expect(files).toEqual([expect.stringMatching(new RegExp(`^nodeprof-cpu-${t.pid}-\\d{8}-\\d{6}\\.speedscope\\.json$`))]);
    expect(r.stderr).toContain(`wrote ${path.join(dir, files[0]!)}: open it in speedscope`);
    const file = JSON.parse(fs.readFileSync(path.join(dir, files[0]!), 'utf8')) as {
      $schema: string;
      shared: { frames: Array<{ name: string }> };
      profiles: Array<{ name: string; unit: string; samples: number[][] }>;
    };
    expect(file.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    expect(file.profiles.map((p) => [p.name, p.unit])).toEqual([
      ['main', 'nanoseconds'],
      ['worker 1 hasher', 'nanoseconds'],
    ]);
    const names = (i: number) => new Set(file.profiles[i]!.samples.flat().map((f) => file.shared.frames[f]!.name));
    expect(names(0).has('mainHotFunction')).toBe(true);
    expect(names(1).has('workerHotFunction')).toBe(true);
    expect(names(1).has('mainHotFunction')).toBe(false);
  });

  test('--format html does not apply to --trace alone: usage error', async () => {
    const r = await runCli(['attach', '9', '--trace', '1s', '--format', 'html']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('nodeprof: --format html does not apply to --trace: use one of trace');
  });
});

describe('nodeprof view', () => {
  test('writes a new <name>.html in the current directory, -o elsewhere, --format speedscope', async () => {
    const t = await startTarget('busy.js');
    const dir = tmpdir();
    const pb = path.join(dir, 'cpu.pb.gz');
    expect((await runCli(['attach', String(t.port), '--cpu', '1s', '-o', pb])).code).toBe(0);
    const here = await runCli(['view', pb], { cwd: dir, env: noBrowser });
    expect(here.code).toBe(0);
    expect(here.stderr).toBe('wrote cpu.html: no browser here (no DISPLAY); open it in one\n');
    expect(fs.readFileSync(path.join(dir, 'cpu.html'), 'utf8')).toMatch(/^<!DOCTYPE html>[\s\S]*hotFunction/);
    // Again: a new file beside it, the first one kept.
    const again = await runCli(['view', pb], { cwd: dir, env: noBrowser });
    expect(again.stderr).toBe('wrote cpu-1.html: no browser here (no DISPLAY); open it in one\n');
    expect(fs.readdirSync(dir).sort()).toEqual(['cpu-1.html', 'cpu.html', 'cpu.pb.gz']);
    const out = path.join(dir, 'x.json');
    const ss = await runCli(['view', pb, '--format', 'speedscope', '-o', out], { cwd: dir, env: noBrowser });
    expect(ss.code).toBe(0);
    expect(ss.stderr).toBe(`wrote ${out}\n`);
    expect((JSON.parse(fs.readFileSync(out, 'utf8')) as { profiles: unknown[] }).profiles).toHaveLength(1);
  });

  test('a missing file, a directory, a file that is no profile: exit 1, one line', async () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello\n');
    const cases: Array<[string, RegExp]> = [
      [path.join(dir, 'missing.pb.gz'), /^nodeprof: cannot read .*missing\.pb\.gz: ENOENT/],
      [dir, /^nodeprof: cannot read .*: is a directory, not a regular file$/],
      [path.join(dir, 'notes.txt'), /^nodeprof: .*notes\.txt: not a pprof profile/],
    ];
    for (const [file, message] of cases) {
      const r = await runCli(['view', file], { cwd: dir, env: noBrowser });
      expect({ file, code: r.code }).toEqual({ file, code: 1 });
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
  });
});
