// `nodeprof view <profile>`: any pprof file (ours, Go's, one scraped from a facade; gzipped or
// not) or a V8 .cpuprofile / .heapprofile, turned into the HTML flame graph and opened in a browser.

import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Argv } from 'yargs';
import type { Profile } from 'pprof-format';
import { NodeprofError, errorMessage } from '../errors.js';
import { formatBytes } from '../size.js';
import type { CommandContext } from './context.js';

/** The largest profile file `view` reads, and the most its gzip may inflate to. */
export const VIEW_MAX_FILE_BYTES = 512 * 1024 ** 2;
export const VIEW_MAX_INFLATED_BYTES = 1024 ** 3;

/** Decodes a profile file's bytes: pprof (gzipped or not), V8 .cpuprofile or .heapprofile JSON. */
export async function profileFromBytes(bytes: Uint8Array): Promise<{ profile: Profile; kind: string }> {
  let raw: Uint8Array = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = gunzipSync(bytes, { maxOutputLength: VIEW_MAX_INFLATED_BYTES });
    } catch (err) {
      throw new NodeprofError(`not a readable gzip file (${errorMessage(err)})`);
    }
  }
  const first = Buffer.from(raw.subarray(0, 64)).toString('utf8').trimStart()[0];
  if (first === '{') {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(Buffer.from(raw).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new NodeprofError(`not valid JSON (${errorMessage(err)})`);
    }
    if (Array.isArray(json.nodes) && Array.isArray(json.samples)) {
      const { cpuProfileToPprof } = await import('../pprof/cpu-profile.js');
      const p = json as unknown as Parameters<typeof cpuProfileToPprof>[0];
      const samples = p.samples?.length ?? 0;
      const intervalUs = samples > 0 ? Math.max(1, Math.round((p.endTime - p.startTime) / samples)) : 1000;
      return { profile: cpuProfileToPprof(p, { intervalUs }), kind: 'CPU' };
    }
    if (json.head && typeof json.head === 'object') {
      const { heapProfileToPprof } = await import('../pprof/heap-profile.js');
      const p = json as unknown as Parameters<typeof heapProfileToPprof>[0];
      return { profile: heapProfileToPprof(p, { mode: 'inuse', intervalBytes: 512 * 1024 }), kind: 'heap' };
    }
    throw new NodeprofError('a JSON file that is neither a V8 .cpuprofile nor a .heapprofile');
  }
  const { Profile } = await import('pprof-format');
  let profile: Profile;
  try {
    profile = Profile.decode(raw);
  } catch (err) {
    throw new NodeprofError(`not a pprof profile (${errorMessage(err)})`);
  }
  if (profile.sampleType.length === 0) throw new NodeprofError('not a pprof profile (no sample types)');
  return { profile, kind: '' };
}

/** The HTML file's name: the profile's own name without its extensions, made safe. */
export function viewFileName(input: string): string {
  const stem = path
    .basename(input)
    .replace(/(\.(pb|gz|pprof|prof|proto|cpuprofile|heapprofile|json))+$/i, '')
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[.-]+/, '')
    .slice(0, 80);
  return `${stem || 'profile'}.html`;
}

/** `name`, else name-1, name-2, ...: `view` makes a new file rather than replace one the user has. */
function newFileName(name: string): string {
  const ext = /(\.speedscope\.json|\.html)$/.exec(name)?.[0] ?? '';
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 0; i < 1000; i++) {
    const candidate = i === 0 ? name : `${stem}-${i}${ext}`;
    if (!fs.existsSync(candidate)) return candidate;
  }
  return name;
}

export function viewCommand(ctx: CommandContext) {
  return {
    command: 'view <profile>',
    describe: 'Turn a profile file (pprof, .cpuprofile) into an offline HTML flame graph and open it',
    builder: (y: Argv) =>
      y
        .positional('profile', { type: 'string', describe: 'a pprof file (.pb.gz, gzipped or not; ours or Go’s) or a V8 .cpuprofile / .heapprofile' })
        .option('output', { alias: 'o', type: 'string', describe: 'the file to write (default: a new <profile name>.html in the current directory)' })
        .option('format', {
          type: 'string',
          choices: ['html', 'speedscope'],
          default: 'html',
          describe: 'html (flame graph page) or speedscope (its JSON format)',
        })
        .option('open', { type: 'boolean', default: true, describe: 'open the page in the default browser when there is one (--no-open to only write it)' })
        .strict()
        .example('$0 view cpu.pb.gz', 'writes cpu.html here and opens it')
        .example('$0 view heap.pb.gz -o /tmp/heap.html --no-open', 'only write it'),
    handler: async (argv: Record<string, unknown>) => {
      const [{ renderPicture }, { writeFileKeeping }, { openInBrowser }] = await Promise.all([
        import('../output/picture.js'),
        import('../output/destination.js'),
        import('./open.js'),
      ]);
      const input = String(argv.profile);
      const { profile, kind } = await readProfileFile(input);
      const format = argv.format === 'speedscope' ? 'speedscope' : 'html';
      const out =
        argv.output !== undefined ? String(argv.output) : newFileName(viewFileName(input).replace(/\.html$/, format === 'html' ? '.html' : '.speedscope.json'));
      const text = renderPicture(profile, format, { target: path.basename(input), kind: kind || undefined });
      const res = await writeFileKeeping(out, text, ctx.log);
      if (res.warning) {
        ctx.log(`error: ${res.warning}`);
        ctx.setExitCode(1);
      }
      if (format === 'html' && argv.open !== false) await openInBrowser(res.path, ctx.log);
      else ctx.log(`wrote ${res.path}`);
    },
  };
}

export async function readProfileFile(file: string): Promise<{ profile: Profile; kind: string }> {
  const { openRegularFile, readAt } = await import('../collect/file-read.js');
  let bytes: Buffer;
  try {
    const f = await openRegularFile(file);
    try {
      if (f.size > VIEW_MAX_FILE_BYTES) throw new NodeprofError(`${file} is larger than ${formatBytes(VIEW_MAX_FILE_BYTES)}`);
      bytes = await readAt(f.fh, 0, f.size);
    } finally {
      await f.fh.close();
    }
  } catch (err) {
    if (err instanceof NodeprofError) throw err;
    throw new NodeprofError(`cannot read ${file}: ${errorMessage(err)}`);
  }
  try {
    return await profileFromBytes(bytes);
  } catch (err) {
    throw new NodeprofError(`${file}: ${errorMessage(err)}`);
  }
}
