// The CLI runs from a bundle (dist/bundle/, see scripts/bundle.mjs): yargs there finds what it used to
// find next to its own files in node_modules, whatever the current directory.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, runCli } from '../helpers/processes.js';

describe('bundled CLI', () => {
  test("--version prints nodeprof's version from any directory", async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version'], { cwd: os.tmpdir() });
    expect(r.code).toBe(0);
    expect(r.stdout.toString().trim()).toBe(version);
  });

  test("yargs' messages in the user's language, as unbundled", async () => {
    const r = await runCli(['attach', '--bogus', '9229'], { env: { LC_ALL: 'de_DE.UTF-8' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^nodeprof: Unbekanntes Argument: bogus /);
  });
});
