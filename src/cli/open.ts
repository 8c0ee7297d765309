// --open and `nodeprof view`: hand a pprof file to `go tool pprof -http`, or, without Go, turn it
// into the HTML flame graph and open that in the default browser (xdg-open / open); on a machine
// without a browser, say where the page is.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { errorMessage } from '../errors.js';

/** Whether a browser can be shown: macOS and Windows always; elsewhere a display must be set. */
function hasDisplay(env: NodeJS.ProcessEnv = process.env): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY || env.BROWSER);
}

/** Opens `file` (an HTML page nodeprof wrote) in the default browser, else prints where it is. */
export function openInBrowser(file: string, log: (line: string) => void): Promise<void> {
  const shown = `wrote ${file}`;
  if (!hasDisplay()) {
    log(`${shown}: no browser here (no DISPLAY); open it in one`);
    return Promise.resolve();
  }
  const abs = path.resolve(file);
  const [cmd, args] = process.platform === 'darwin' ? ['open', [abs]] : process.platform === 'win32' ? ['explorer.exe', [abs]] : ['xdg-open', [abs]];
  return new Promise((resolve) => {
    // The browser outlives nodeprof: detached, its output not ours.
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {
      log(`${shown}: open it in a browser (${cmd} is not available)`);
      resolve();
    });
    child.on('spawn', () => {
      child.unref();
      log(`${shown}: opened in the browser`);
      resolve();
    });
  });
}

/** Writes the HTML flame graph of a pprof file beside it (x.pb.gz → x.html) and opens that. */
async function openAsHtml(file: string, log: (line: string) => void): Promise<void> {
  try {
    const [{ readProfileFile }, { renderPicture }, { writeFileKeeping }] = await Promise.all([
      import('./view.js'),
      import('../output/picture.js'),
      import('../output/destination.js'),
    ]);
    const { profile } = await readProfileFile(file);
    const html = file.replace(/(\.pb)?(\.gz)?$/, '') + '.html';
    const res = await writeFileKeeping(html, renderPicture(profile, 'html', { target: path.basename(file) }), log);
    if (res.warning) log(`error: ${res.warning}`);
    await openInBrowser(res.path, log);
  } catch (err) {
    log(`--open: could not make the HTML flame graph: ${errorMessage(err)}`);
  }
}

/**
 * --open: an HTML page goes to the browser; a pprof file to `go tool pprof -http`, or, without Go,
 * to the browser as the HTML flame graph (`go tool pprof -http=: <file>` said for those who want it).
 */
export function openInPprof(file: string, log: (line: string) => void): Promise<void> {
  if (file.endsWith('.html')) return openInBrowser(file, log);
  return new Promise((resolve) => {
    const child = spawn('go', ['tool', 'pprof', '-http=:', file], { stdio: 'inherit' });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        log(`--open: Go is not installed, so no go tool pprof -http (https://go.dev/dl/); showing nodeprof's own flame graph instead`);
        void openAsHtml(file, log).then(resolve);
      } else {
        log(`--open: could not run go tool pprof: ${err.message}`);
        resolve();
      }
    });
    child.on('exit', () => resolve());
  });
}
