// One self-contained HTML page with an interactive flame graph of a pprof profile: a canvas drawn
// by the small script below (no library, nothing fetched: the CSP forbids every request), click to
// zoom, search, hover for self and total, a sorted table, and selectors for the sample type and the
// thread. The profile travels as JSON in a data block; its strings are the target's, so hostile.

import { createHash } from 'node:crypto';
import type { Profile } from 'pprof-format';
import { flameData, type FlameData } from './flame-data.js';
import { flameClient } from './html-client.js';

export interface HtmlPageInfo {
  /** What was profiled: "pid 1234 (127.0.0.1:9229)", or the file `view` read. */
  target?: string;
  /** What kind of profile, for the title ("CPU", "heap"). */
  kind?: string;
}

const STYLE = `
:root { font: 13px system-ui, sans-serif; color: #222; }
body { margin: 0; }
header { padding: 8px 12px; border-bottom: 1px solid #ddd; display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; }
header h1 { font-size: 15px; margin: 0; font-weight: 600; }
header .sub { color: #666; }
header label { color: #444; }
header input[type=search] { width: 16em; }
#status { color: #444; min-height: 1.3em; padding: 4px 12px; }
#flame { display: block; width: 100%; cursor: pointer; }
#tip { position: fixed; pointer-events: none; background: #fffbe6; border: 1px solid #caa; padding: 4px 6px; max-width: 60em; font-size: 12px; white-space: pre-wrap; word-break: break-all; display: none; }
table { border-collapse: collapse; margin: 0 12px 12px; font-size: 12px; }
th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #eee; }
th { cursor: pointer; background: #f6f6f6; position: sticky; top: 0; }
td.name, th.name { text-align: left; word-break: break-all; }
.hidden { display: none !important; }
`;

/** Text for an HTML element or attribute. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON for a `<script type="application/json">` block: no `<` can close the block or open a
 * comment, and U+2028/2029 stay escaped.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function formatWhen(ms: number): string {
  return ms > 0
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')
    : '';
}

function formatWindow(ms: number): string {
  if (ms <= 0) return '';
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

export function toHtml(profile: Profile, info: HtmlPageInfo = {}): string {
  return htmlFromFlame(flameData(profile), info);
}

export function htmlFromFlame(data: FlameData, info: HtmlPageInfo = {}): string {
  const when = formatWhen(data.timeMs);
  const window = formatWindow(data.durationMs);
  const kind = info.kind ?? data.sampleTypes[data.defaultType]?.type ?? 'profile';
  const title = [`nodeprof ${kind}`, info.target].filter(Boolean).join(': ');
  const sub = [when, window && `window ${window}`].filter(Boolean).join(', ');
  const script = `(${flameClient.toString()})();`;
  const csp = `default-src 'none'; script-src ${sha256(script)}; style-src ${sha256(STYLE)}; img-src data:; base-uri 'none'; form-action 'none'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1 id="title">${escapeHtml(title)}</h1>
<span class="sub" id="sub">${escapeHtml(sub)}</span>
<label id="typeBox">sample <select id="type"></select></label>
<label id="threadBox">thread <select id="thread"></select></label>
<label>view <select id="view"><option value="flame">flame graph</option><option value="table">table</option></select></label>
<input type="search" id="search" placeholder="search (regexp)" aria-label="search">
<button id="reset" type="button">reset zoom</button>
</header>
<div id="status"></div>
<canvas id="flame"></canvas>
<div id="tableBox" class="hidden"><table id="table"><thead><tr><th class="name" data-sort="name">function</th><th data-sort="self">self</th><th data-sort="selfPct">self %</th><th data-sort="total">total</th><th data-sort="totalPct">total %</th></tr></thead><tbody></tbody></table></div>
<div id="tip"></div>
<script type="application/json" id="data">${jsonForScript(data)}</script>
<script>${script}</script>
</body>
</html>
`;
}
