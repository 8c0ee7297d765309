// Headless Chromium (Debian's `chromium`, NODEPROF_CHROMIUM to name another) driven over the
// DevTools protocol with chrome-remote-interface: open a page, record every network request it
// makes, evaluate in it, move the mouse, type, take a screenshot. closeBrowsers() in afterEach.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import CDP from 'chrome-remote-interface';

const browsers = new Set<{ proc: ChildProcess; dir: string }>();

export const CHROMIUM = process.env.NODEPROF_CHROMIUM || 'chromium';

export async function closeBrowsers(): Promise<void> {
  await Promise.all(
    [...browsers].map(
      (b) =>
        new Promise<void>((resolve) => {
          browsers.delete(b);
          const done = () => {
            // Its helper processes may still be writing to the profile directory for a moment.
            fs.rmSync(b.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
            resolve();
          };
          if (b.proc.exitCode !== null || b.proc.signalCode !== null) return done();
          b.proc.once('exit', done);
          // The whole process group: Chromium's zygote, GPU and renderer processes too.
          try {
            process.kill(-b.proc.pid!, 'SIGKILL');
          } catch {
            b.proc.kill('SIGKILL');
          }
        }),
    ),
  );
}

export interface BrowserPage {
  client: CDP.Client;
  /** Every URL the page asked for (Network.requestWillBeSent), its own included. */
  requests: string[];
  evaluate<T>(expression: string): Promise<T>;
  /** Mouse over a point of the viewport (CSS pixels). */
  hover(x: number, y: number): Promise<void>;
  click(x: number, y: number): Promise<void>;
  /** Focuses the element and types text, as a person would. */
  type(selector: string, text: string): Promise<void>;
  /** A PNG of the viewport's top `height` CSS pixels (all of it by default). */
  screenshot(file: string, height?: number): Promise<void>;
}

/** Starts a headless Chromium and returns its DevTools port (read from DevToolsActivePort). */
async function launch(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-chromium-'));
  const proc = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--no-first-run',
      '--hide-scrollbars',
      '--window-size=1200,800',
      `--user-data-dir=${dir}`,
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  browsers.add({ proc, dir });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(stderr);
    if (m) return Number(m[1]);
    if (proc.exitCode !== null) throw new Error(`${CHROMIUM} exited (${proc.exitCode}): ${stderr.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${CHROMIUM} did not print its DevTools port within 30s: ${stderr.slice(-500)}`);
}

/** Opens `url` in a new headless Chromium and waits for its load event. */
export async function openPage(url: string, opts: { width?: number; height?: number } = {}): Promise<BrowserPage> {
  const port = await launch();
  const target = await CDP.New({ port, url: 'about:blank' });
  const client = await CDP({ port, target });
  const requests: string[] = [];
  client.on('Network.requestWillBeSent', (e: { request: { url: string } }) => requests.push(e.request.url));
  await client.Network.enable({});
  await client.Page.enable();
  await client.Emulation.setDeviceMetricsOverride({ width: opts.width ?? 1200, height: opts.height ?? 800, deviceScaleFactor: 1, mobile: false });
  const loaded = client.Page.loadEventFired();
  await client.Page.navigate({ url });
  await loaded;
  const evaluate = async <T>(expression: string): Promise<T> => {
    const r = await client.Runtime.evaluate({ expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  };
  const mouse = (type: 'mouseMoved' | 'mousePressed' | 'mouseReleased', x: number, y: number) =>
    client.Input.dispatchMouseEvent({ type, x, y, button: type === 'mouseMoved' ? 'none' : 'left', clickCount: type === 'mouseMoved' ? 0 : 1 });
  return {
    client,
    requests,
    evaluate,
    hover: async (x, y) => {
      await mouse('mouseMoved', x, y);
    },
    click: async (x, y) => {
      await mouse('mouseMoved', x, y);
      await mouse('mousePressed', x, y);
      await mouse('mouseReleased', x, y);
    },
    type: async (selector, text) => {
      await evaluate(`document.querySelector(${JSON.stringify(selector)}).focus()`);
      await client.Input.insertText({ text });
    },
    screenshot: async (file, height) => {
      const clip = height === undefined ? undefined : { x: 0, y: 0, width: opts.width ?? 1200, height, scale: 1 };
      const { data } = await client.Page.captureScreenshot({ format: 'png', ...(clip ? { clip } : {}) });
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, Buffer.from(data, 'base64'));
    },
  };
}
