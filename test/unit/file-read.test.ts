// Reading the files a target names (collect/file-read.ts), and the loader's use of it: regular
// files only, a size bound, maps inside their script's package, long inline maps found by a
// bounded read of the script's end. The end-to-end attacks are in e2e/source-maps-hostile.
import { afterAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RefusedFile, isWithin, openRegularFile, readRegularFile, sourceMapMaxBytes } from '../../src/collect/file-read.js';
import { loadSourceMaps } from '../../src/collect/source-map-loader.js';
import { UsageError } from '../../src/errors.js';
import { fileUrl, sm } from '../helpers/source-maps.js';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-file-read-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

describe('openRegularFile / readRegularFile', () => {
  test('a FIFO, a device (directly or through a symlink), a directory: refused at once, by kind', async () => {
    const fifo = path.join(TMP, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const link = path.join(TMP, 'zero-link');
    fs.symlinkSync('/dev/zero', link);
    const t0 = performance.now();
    await expect(openRegularFile(fifo)).rejects.toThrow(new RefusedFile('is a FIFO, not a regular file'));
    await expect(openRegularFile('/dev/zero')).rejects.toThrow('is a character device, not a regular file');
    await expect(openRegularFile(link)).rejects.toThrow('is a character device, not a regular file');
    await expect(openRegularFile(TMP)).rejects.toThrow('is a directory, not a regular file');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test('a file over the bound is not read; one within is; within= checks the real path', async () => {
    const f = path.join(TMP, 'ten');
    fs.writeFileSync(f, '0123456789');
    await expect(readRegularFile(f, 9)).rejects.toThrow(/^is larger than 9 B \(10 B; NODEPROF_SOURCE_MAP_MAX_SIZE raises the bound\)$/);
    expect(await readRegularFile(f, 10)).toBe('0123456789');
    const inner = fs.mkdtempSync(path.join(TMP, 'inner-'));
    fs.symlinkSync(f, path.join(inner, 'link'));
    await expect(readRegularFile(path.join(inner, 'link'), 10, { within: inner })).rejects.toThrow(`is outside ${inner}`);
    expect(await readRegularFile(path.join(inner, 'link'), 10, { within: TMP })).toBe('0123456789');
  });

  test('isWithin', () => {
    expect(isWithin('/a/b/c.map', '/a/b')).toBe(true);
    expect(isWithin('/a/b', '/a/b')).toBe(true);
    expect(isWithin('/a/bc/d.map', '/a/b')).toBe(false);
    expect(isWithin('/a/..b/d.map', '/a')).toBe(true);
    expect(isWithin('/etc/shadow', '/a/b')).toBe(false);
  });

  test('NODEPROF_SOURCE_MAP_MAX_SIZE: 64 MiB unless set; a size as --heap-interval takes it; else a usage error', () => {
    expect(sourceMapMaxBytes({})).toBe(64 * 1024 ** 2);
    expect(sourceMapMaxBytes({ NODEPROF_SOURCE_MAP_MAX_SIZE: '200MiB' })).toBe(200 * 1024 ** 2);
    expect(sourceMapMaxBytes({ NODEPROF_SOURCE_MAP_MAX_SIZE: '4096' })).toBe(4096);
    expect(() => sourceMapMaxBytes({ NODEPROF_SOURCE_MAP_MAX_SIZE: '-1' })).toThrow(UsageError);
  });
});

describe('the loader on scripts and maps a target names', () => {
  const load = (file: string, maxBytes?: number) => loadSourceMaps(undefined, [{ scriptId: '1', url: pathToFileURL(file).href }], { maxBytes });

  /** A script ending in one inline map comment, its last line padded to `pad` bytes of base64. */
  function inlineScript(name: string, pad: number): string {
    const map = { ...JSON.parse(fs.readFileSync(sm('tsc-cjs/hot.js.map'), 'utf8')), sources: [fileUrl('src/tsc-cjs/hot.ts')] };
    map.names = ['x'.repeat(Math.ceil((pad * 3) / 4))];
    const js = fs.readFileSync(sm('tsc-cjs/hot.js'), 'utf8').replace(/\/\/# sourceMappingURL=.*/, '');
    const file = path.join(TMP, name);
    fs.writeFileSync(file, `${js}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`);
    return file;
  }

  test('an inline map on a last line longer than the first 64 KiB read is found; one longer than the bound is not read', async () => {
    const file = inlineScript('long-inline.js', 300 * 1024);
    const ok = await load(file);
    expect(ok.warnings).toEqual([]);
    expect(ok.stats.mapped).toBe(1);
    const over = await load(file, 100 * 1024);
    expect(over.stats.mapped).toBe(0);
    expect(over.warnings).toEqual([
      `warning: source map for ${file}: the script ends in a line longer than 100.0 KiB (NODEPROF_SOURCE_MAP_MAX_SIZE raises the bound); its frames stay in the generated JavaScript`,
    ]);
  });

  test('an inline map over the bound in a short script: refused, not decoded', async () => {
    const file = inlineScript('inline.js', 20 * 1024);
    const r = await load(file, 8 * 1024);
    expect(r.warnings).toEqual([expect.stringMatching(/: its inline map is larger than 8\.0 KiB \(NODEPROF_SOURCE_MAP_MAX_SIZE raises the bound\)/)]);
  });

  test('a map that is JSON but holds a secret: the reason never quotes it', async () => {
    const dir = fs.mkdtempSync(path.join(TMP, 'json-'));
    fs.writeFileSync(path.join(dir, 'a.js'), 'x();\n//# sourceMappingURL=a.js.map\n');
    fs.writeFileSync(path.join(dir, 'a.js.map'), '{"version":3,"sources":["s"],"mappings":"TOPSECRET;;;"}');
    const r = await load(path.join(dir, 'a.js'));
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).not.toContain('TOPSECRET');
  });

  test('a map URL for a script that is not on this machine is not followed, even inside a real directory', async () => {
    const r = await loadSourceMaps(undefined, [{ scriptId: '1', url: pathToFileURL(path.join(TMP, 'made-up.ts')).href }]);
    // no session: the Debugger lookup is skipped, so nothing is read and nothing said
    expect(r.warnings).toEqual([]);
    expect(r.stats.mapped).toBe(0);
  });
});
