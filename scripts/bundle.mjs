// `npm run build`, second step: bundles the CLI (tsc's dist/src/cli/main.js and the packages it
// imports) into dist/bundle/, which bin/nodeprof.js loads. Loading ~150 small ES modules (resolving,
// opening and compiling each) was most of the CLI's start-up; a handful of files loads in a fraction
// of that. The modules the CLI imports lazily stay lazy: each dynamic import() becomes its own chunk.
// The library (nodeprof, nodeprof/register) is not bundled: targets load it from dist/src.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/bundle');

/**
 * yargs finds two things from its own file's location (import.meta.url), which in the bundle is a
 * chunk in dist/bundle/: the package.json whose version --version prints (it looks above the last
 * node_modules in its path) and its locale files. Point them at nodeprof's root and at the copy of
 * the locales this script makes. A yargs release that words these lines differently fails the build
 * here rather than nodeprof --version at run time.
 */
const yargsPaths = {
  name: 'yargs-paths',
  setup(build) {
    build.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, async (args) => {
      const replacements = [
        [
          "const mainFilename = __dirname.substring(0, __dirname.lastIndexOf('node_modules'));",
          "const mainFilename = fileURLToPath(new URL('../../', import.meta.url));",
        ],
        ["directory: resolve(__dirname, '../../../locales'),", "directory: fileURLToPath(new URL('./locales/', import.meta.url)),"],
      ];
      let source = await fs.promises.readFile(args.path, 'utf8');
      for (const [from, to] of replacements) {
        if (!source.includes(from)) throw new Error(`bundle: yargs' ${args.path} no longer has: ${from}`);
        source = source.replace(from, to);
      }
      return { contents: source, loader: 'js' };
    });
  },
};

/**
 * chrome-remote-interface requires its 1 MB protocol.json only when asked for its local protocol
 * description, which nodeprof never is (see target/remote.ts). Inlined, the chunk that connects to
 * targets would carry it and V8 would parse it on every attach: leave it to be required from the
 * package, as it would be unbundled.
 */
const protocolJsonOutside = {
  name: 'protocol-json-outside',
  setup(build) {
    build.onResolve({ filter: /^\.\/protocol\.json$/ }, (args) =>
      /[\\/]chrome-remote-interface[\\/]lib$/.test(args.resolveDir) ? { path: 'chrome-remote-interface/lib/protocol.json', external: true } : undefined,
    );
  },
};

/**
 * string-width (three copies: yargs', cliui's, wrap-ansi's) builds an Intl.Segmenter and Unicode
 * property regexes at its top level, ~30 ms of every start, yet only help text measures strings.
 * Run its top level on the first call instead. Its shape (imports, then code, then
 * `export default function stringWidth`, no other export) is checked, so a release that differs
 * fails the build rather than changing behaviour.
 */
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]string-width[\\/]index\.js$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, 'utf8');
      const imports = source.match(/^(?:import [^;\n]+;?\n)+/)?.[0];
      const body = imports && source.slice(imports.length);
      if (!body || (body.match(/\bexport\b/g) ?? []).length !== 1 || !body.includes('export default function stringWidth(')) {
        throw new Error(`bundle: ${args.path} is not shaped as lazyStringWidth expects`);
      }
      const init = body.replace('export default function stringWidth(', 'function stringWidth(');
      return {
        contents: `${imports}let impl;\nexport default function stringWidth(input, options) {\n  impl ??= init();\n  return impl(input, options);\n}\nfunction init() {\n${init}\nreturn stringWidth;\n}\n`,
        loader: 'js',
      };
    });
  },
};

fs.rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  entryPoints: { cli: path.join(root, 'dist/src/cli/main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // ws' optional native speed-ups: ws requires them in a try and does without.
  external: ['bufferutil', 'utf-8-validate'],
  // The CommonJS packages (chrome-remote-interface, ws) require Node's built-ins; an ES module has no
  // require of its own.
  banner: { js: "import { createRequire as __nodeprofCreateRequire } from 'node:module';\nconst require = __nodeprofCreateRequire(import.meta.url);" },
  plugins: [yargsPaths, protocolJsonOutside, lazyStringWidth],
  logLevel: 'warning',
});
const yargsRoot = path.dirname(createRequire(import.meta.url).resolve('yargs/package.json'));
fs.cpSync(path.join(yargsRoot, 'locales'), path.join(outdir, 'locales'), { recursive: true });
