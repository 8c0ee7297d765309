// The HTML index at /debug/pprof/, rendered from the route table (as Go's is), so the page and the
// routes cannot drift apart.

import type { Facade } from './facade.js';
import { modeNote, ROUTES } from './routes.js';
import { terminalText } from '../output/terminal-text.js';

// HTML-escaped, and control characters written out: the page is also read with curl in a terminal.
const esc = (s: string) => terminalText(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function indexPage(facade: Facade, token: string | undefined): string {
  let target = facade.transport.where;
  try {
    const { info } = facade.link.get();
    target += ` (pid ${info.pid}, Node.js ${info.nodeVersion})`;
  } catch {
    target += ' (gone: reconnecting)';
  }
  // A token given in the page's own URL is carried into its links, so a browser can follow them.
  const withToken = (link: string) => (token ? `${link}${link.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : link);
  const rows = ROUTES.map((r) => `<tr><td><a href="${esc(withToken(r.link))}">${esc(r.name)}</a></td><td>${esc(r.description)}</td></tr>`).join('\n');
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>/debug/pprof/</title>
<style>body{font-family:sans-serif} td{padding:2px 8px;vertical-align:top} td:first-child{white-space:nowrap}</style>
</head>
<body>
<p>/debug/pprof/ of ${esc(target)}, served by nodeprof</p>
<p>${esc(modeNote(facade))}</p>
<p>Open a profile with <code>go tool pprof http://HOST/debug/pprof/profile?seconds=30</code>. Set debug=1 as a query parameter for text.</p>
<table>
<thead><tr><td>Profile</td><td>Description</td></tr></thead>
${rows}
</table>
<p><a href="${esc(withToken('goroutine?debug=2'))}">full stack dump</a></p>
</body>
</html>
`;
}
