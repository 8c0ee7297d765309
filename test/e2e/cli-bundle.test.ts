// The CLI runs from a bundle (dist/bundle/, see scripts/bundle.mjs): yargs there finds what it used to
// find next to its own files in node_modules, whatever the current directory.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ROOT, runCli } from '../helpers/processes.js';

/** Packages a file imports (`from "x"`, `import("x")`, `require("x")`), Node built-ins and relative paths left out. */
function packagesImported(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"'.][^"']*)["']/g)) {
    const spec = m[1]!;
    if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!)) continue;
    out.push(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  }
  return out;
}

/** Relative imports of a compiled module, as paths. */
function relativeImports(file: string, text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => path.resolve(path.dirname(file), m[1]!));
}

describe('bundled CLI', () => {
  // yargs and ora are devDependencies: the CLI carries them in its bundle, and an install of
  // nodeprof leaves them out (6 packages instead of 32). What the bundle or the library entries
  // import at run time must therefore be a dependency.
  test('imports nothing an install leaves out: the bundle and the library entries need only dependencies and Node built-ins', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    // ws requires these optional speed-ups inside try/catch.
    const installed = new Set([...Object.keys(pkg.dependencies), 'bufferutil', 'utf-8-validate']);
    const used = new Map<string, string>();
    const bundle = path.join(ROOT, 'dist/bundle');
    for (const f of fs.readdirSync(bundle).filter((x) => x.endsWith('.js'))) {
      for (const name of packagesImported(fs.readFileSync(path.join(bundle, f), 'utf8'))) used.set(name, `dist/bundle/${f}`);
    }
    const queue = ['dist/src/index.js', 'dist/src/register.js'].map((f) => path.join(ROOT, f));
    const seen = new Set<string>();
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = fs.readFileSync(file, 'utf8');
      for (const name of packagesImported(text)) used.set(name, path.relative(ROOT, file));
      queue.push(...relativeImports(file, text));
    }
    expect(seen.size).toBeGreaterThan(5);
    const missing = [...used].filter(([name]) => !installed.has(name)).map(([name, where]) => `${name} (${where})`);
    expect(missing).toEqual([]);
    expect(pkg.devDependencies.yargs).toBeDefined();
    expect(pkg.devDependencies.ora).toBeDefined();
  });

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
