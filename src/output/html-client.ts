// The script of the HTML flame graph (output/html.ts), run in the browser. It is shipped as the
// source text of flameClient (Function.prototype.toString), so it must not refer to anything
// outside itself: no imports, no helpers from this module. Every string of the profile reaches the
// page through textContent or the canvas, never as HTML.

export function flameClient(): void {
  interface Frame {
    name: string;
    file: string;
    line: number;
  }
  interface Thread {
    name: string;
    parent: number[];
    frame: number[];
    self: number[][];
  }
  interface Data {
    sampleTypes: Array<{ type: string; unit: string }>;
    defaultType: number;
    frames: Frame[];
    threads: Thread[];
    timeMs: number;
    durationMs: number;
    comments: string[];
  }
  /** A tree with a root at index 0 (frame -1); nodes in preorder, parents first. */
  interface Tree {
    parent: Int32Array;
    frame: Int32Array;
    self: Float64Array[];
  }
  interface Laid {
    total: Float64Array;
    depth: Int32Array;
    maxDepth: number;
    /** Children of node i: kids[start[i] .. start[i+1]), widest first. */
    start: Int32Array;
    kids: Int32Array;
  }
  interface Rect {
    node: number;
    x: number;
    w: number;
    depth: number;
  }

  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const data = JSON.parse($('data').textContent ?? '{}') as Data;
  const frames: Frame[] = data.frames.slice();
  const ROW = 18;

  // Trees: one per thread, and with several threads one more for all of them side by side.
  function threadTree(ts: Thread[], prefix: boolean): Tree {
    const n = 1 + ts.reduce((a, t) => a + t.parent.length + (prefix ? 1 : 0), 0);
    const parent = new Int32Array(n);
    const frame = new Int32Array(n);
    const self = data.sampleTypes.map(() => new Float64Array(n));
    parent[0] = -1;
    frame[0] = -1;
    let at = 1;
    for (const t of ts) {
      let top = 0;
      if (prefix) {
        frames.push({ name: `[${t.name}]`, file: '', line: 0 });
        parent[at] = 0;
        frame[at] = frames.length - 1;
        top = at++;
      }
      const base = at;
      for (let i = 0; i < t.parent.length; i++, at++) {
        const p = t.parent[i]!;
        parent[at] = p < 0 ? top : base + p;
        frame[at] = t.frame[i]!;
        for (let v = 0; v < self.length; v++) self[v]![at] = t.self[v]?.[i] ?? 0;
      }
    }
    return { parent, frame, self };
  }
  const trees: Array<{ label: string; tree: Tree }> = [];
  if (data.threads.length > 1) trees.push({ label: 'all threads', tree: threadTree(data.threads, true) });
  for (const t of data.threads) trees.push({ label: t.name, tree: threadTree([t], false) });
  if (trees.length === 0) trees.push({ label: 'all', tree: threadTree([], false) });

  function layout(tree: Tree, type: number): Laid {
    const n = tree.parent.length;
    const self = tree.self[type] ?? new Float64Array(n);
    const total = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      total[i] += self[i]!;
      const p = tree.parent[i]!;
      if (p >= 0) total[p] += total[i]!;
    }
    const depth = new Int32Array(n);
    const count = new Int32Array(n + 1);
    let maxDepth = 0;
    for (let i = 1; i < n; i++) {
      const p = tree.parent[i]!;
      depth[i] = depth[p]! + 1;
      if (total[i]! > 0 && depth[i]! > maxDepth) maxDepth = depth[i]!;
      count[p]++;
    }
    const start = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) start[i + 1] = start[i]! + count[i]!;
    const fill = start.slice(0, n);
    const kids = new Int32Array(Math.max(0, n - 1));
    for (let i = 1; i < n; i++) kids[fill[tree.parent[i]!]!++] = i;
    for (let i = 0; i < n; i++) {
      if (start[i + 1]! - start[i]! > 1) kids.subarray(start[i]!, start[i + 1]!).sort((a, b) => total[b]! - total[a]! || a - b);
    }
    return { total, depth, maxDepth, start, kids };
  }

  function fmt(v: number, unit: string): string {
    const f = (x: number, u: string) => `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}${u}`;
    if (unit === 'nanoseconds') return v >= 1e9 ? f(v / 1e9, 's') : v >= 1e6 ? f(v / 1e6, 'ms') : v >= 1e3 ? f(v / 1e3, 'µs') : `${v}ns`;
    if (unit === 'microseconds') return fmt(v * 1e3, 'nanoseconds');
    if (unit === 'milliseconds') return fmt(v * 1e6, 'nanoseconds');
    if (unit === 'bytes') return v >= 2 ** 30 ? f(v / 2 ** 30, 'GiB') : v >= 2 ** 20 ? f(v / 2 ** 20, 'MiB') : v >= 1024 ? f(v / 1024, 'KiB') : `${v}B`;
    const s = v >= 1e6 ? f(v / 1e6, 'M') : v >= 1e4 ? f(v / 1e3, 'k') : String(v);
    return unit && unit !== 'count' ? `${s} ${unit}` : s;
  }

  const state = { tree: 0, type: data.defaultType, zoom: 0, view: 'flame', search: null as RegExp | null, sort: 'self' };
  let laid: Laid = layout(trees[0]!.tree, state.type);
  let drawn: Rect[][] = [];
  let matched = new Uint8Array(0);

  const canvas = $<HTMLCanvasElement>('flame');
  const ctx = canvas.getContext('2d')!;
  const tip = $('tip');
  const status = $('status');
  const cur = () => trees[state.tree]!.tree;
  const unit = () => data.sampleTypes[state.type]?.unit ?? '';
  const nameOf = (node: number) => (node === 0 ? 'all' : frames[cur().frame[node]!]?.name || '(anonymous)');
  const fileOf = (node: number) => {
    const f = node === 0 ? undefined : frames[cur().frame[node]!];
    return f && f.file ? `${f.file}${f.line > 0 ? `:${f.line}` : ''}` : '';
  };

  function hue(name: string): number {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h;
  }
  function color(node: number): string {
    if (matched[node]) return '#c34fd8';
    if (node === 0) return '#c9c9c9';
    const f = frames[cur().frame[node]!];
    const name = f?.name ?? '';
    const h = hue(name);
    if (name.startsWith('(') || name.startsWith('[')) return `hsl(0, 0%, ${70 + (h % 10)}%)`;
    if (f && f.file.startsWith('node:')) return `hsl(${200 + (h % 20)}, 45%, ${68 + (h % 12)}%)`;
    if (f && f.file.includes('node_modules')) return `hsl(${45 + (h % 15)}, 80%, ${58 + (h % 12)}%)`;
    return `hsl(${(h % 35) + 5}, 85%, ${58 + (h % 14)}%)`;
  }

  function draw(): void {
    const tree = cur();
    const width = canvas.clientWidth || document.documentElement.clientWidth;
    const ratio = window.devicePixelRatio || 1;
    const height = (laid.maxDepth + 1) * ROW;
    canvas.style.height = `${height}px`;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    drawn = [];
    for (let d = 0; d <= laid.maxDepth; d++) drawn.push([]);
    const rect = (node: number, x: number, w: number, depth: number) => {
      drawn[depth]!.push({ node, x, w, depth });
      const y = depth * ROW;
      ctx.fillStyle = color(node);
      ctx.fillRect(x, y, Math.max(w - 0.5, 0.5), ROW - 1);
      if (w > 24) {
        const label = `${nameOf(node)}`;
        const room = Math.floor((w - 6) / 6.5);
        ctx.fillStyle = '#111';
        ctx.fillText(label.length > room ? `${label.slice(0, Math.max(0, room - 1))}…` : label, x + 3, y + ROW / 2);
      }
    };
    // The zoomed node and its ancestors span the width; below it, widths are shares of its total.
    const zoom = state.zoom;
    for (let a = tree.parent[zoom]!; a >= 0; a = tree.parent[a]!) rect(a, 0, width, laid.depth[a]!);
    const scale = laid.total[zoom]! > 0 ? width / laid.total[zoom]! : 0;
    const stack: number[] = [zoom, 0];
    while (stack.length > 0) {
      const x = stack.pop()!;
      const node = stack.pop()!;
      const w = laid.total[node]! * scale;
      rect(node, x, w, laid.depth[node]!);
      let cx = x;
      for (let k = laid.start[node]!; k < laid.start[node + 1]!; k++) {
        const c = laid.kids[k]!;
        const cw = laid.total[c]! * scale;
        if (cw < 0.4) break; // widest first: the rest are narrower still
        stack.push(c, cx);
        cx += cw;
      }
    }
    for (const row of drawn) row.sort((a, b) => a.x - b.x);
  }

  function hit(ev: MouseEvent): Rect | undefined {
    const box = canvas.getBoundingClientRect();
    const x = ev.clientX - box.left;
    const row = drawn[Math.floor((ev.clientY - box.top) / ROW)];
    return row?.find((r) => x >= r.x && x < r.x + Math.max(r.w, 1));
  }

  function pct(v: number): string {
    const all = laid.total[0]!;
    return all > 0 ? `${((100 * v) / all).toFixed(2)}%` : '0%';
  }

  function describe(node: number): string {
    const self = cur().self[state.type]![node]!;
    const total = laid.total[node]!;
    const file = fileOf(node);
    return `${nameOf(node)}${file ? `\n${file}` : ''}\ntotal ${fmt(total, unit())} (${pct(total)})\nself ${fmt(self, unit())} (${pct(self)})`;
  }

  function defaultStatus(): string {
    const t = data.sampleTypes[state.type];
    return `${t ? t.type : 'value'}: ${fmt(laid.total[0]!, unit())} total. Hover for details, click to zoom, Esc to reset.`;
  }

  function searchStatus(): void {
    matched = new Uint8Array(cur().parent.length);
    if (!state.search) {
      status.textContent = defaultStatus();
      return;
    }
    const tree = cur();
    const re = state.search;
    const frameHit = new Map<number, boolean>();
    let sum = 0;
    const names = new Set<string>();
    // An ancestor that matched already counts its subtree: add each matched subtree once.
    const covered = new Uint8Array(tree.parent.length);
    for (let i = 1; i < tree.parent.length; i++) {
      const f = tree.frame[i]!;
      let m = frameHit.get(f);
      if (m === undefined) {
        const fr = frames[f];
        m = fr ? re.test(fr.name) || re.test(fr.file) : false;
        frameHit.set(f, m);
      }
      const p = tree.parent[i]!;
      covered[i] = covered[p]!;
      if (m) {
        matched[i] = 1;
        names.add(nameOf(i));
        if (!covered[i]) sum += laid.total[i]!;
        covered[i] = 1;
      }
    }
    status.textContent = `search ${re.source}: ${names.size} function${names.size === 1 ? '' : 's'} matched, ${fmt(sum, unit())} (${pct(sum)})`;
  }

  function table(): void {
    const tree = cur();
    const self = tree.self[state.type]!;
    const fSelf = new Map<number, number>();
    const fTotal = new Map<number, number>();
    const onStack = new Map<number, number>();
    // Depth-first with enter/leave so a recursive function's total counts each stack once.
    const order: number[] = [0];
    while (order.length > 0) {
      const node = order.pop()!;
      if (node < 0) {
        const f = tree.frame[~node]!;
        onStack.set(f, onStack.get(f)! - 1);
        continue;
      }
      const f = tree.frame[node]!;
      if (node !== 0) {
        fSelf.set(f, (fSelf.get(f) ?? 0) + self[node]!);
        if (!onStack.get(f)) fTotal.set(f, (fTotal.get(f) ?? 0) + laid.total[node]!);
        onStack.set(f, (onStack.get(f) ?? 0) + 1);
        order.push(~node);
      }
      for (let k = laid.start[node]!; k < laid.start[node + 1]!; k++) if (laid.total[laid.kids[k]!]! > 0) order.push(laid.kids[k]!);
    }
    const rows = [...fTotal.keys()].map((f) => ({ f, name: frames[f]?.name || '(anonymous)', self: fSelf.get(f) ?? 0, total: fTotal.get(f) ?? 0 }));
    const by = state.sort;
    rows.sort((a, b) => (by === 'name' ? a.name.localeCompare(b.name) : by.startsWith('total') ? b.total - a.total : b.self - a.self || b.total - a.total));
    const body = $('table').querySelector('tbody')!;
    body.textContent = '';
    for (const r of rows.slice(0, 2000)) {
      const tr = document.createElement('tr');
      const fr = frames[r.f];
      const cells = [
        `${r.name}${fr && fr.file ? `  ${fr.file}${fr.line > 0 ? `:${fr.line}` : ''}` : ''}`,
        fmt(r.self, unit()),
        pct(r.self),
        fmt(r.total, unit()),
        pct(r.total),
      ];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        if (i === 0) td.className = 'name';
        td.textContent = text;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
  }

  function render(): void {
    $('tableBox').classList.toggle('hidden', state.view !== 'table');
    canvas.classList.toggle('hidden', state.view !== 'flame');
    searchStatus();
    if (state.view === 'flame') draw();
    else table();
  }

  function relayout(): void {
    laid = layout(cur(), state.type);
    state.zoom = 0;
    render();
  }

  // Controls.
  const typeSel = $<HTMLSelectElement>('type');
  data.sampleTypes.forEach((t, i) => typeSel.add(new Option(`${t.type} (${t.unit})`, String(i), false, i === state.type)));
  $('typeBox').classList.toggle('hidden', data.sampleTypes.length < 2);
  typeSel.addEventListener('change', () => {
    state.type = Number(typeSel.value);
    relayout();
  });
  const threadSel = $<HTMLSelectElement>('thread');
  trees.forEach((t, i) => threadSel.add(new Option(t.label, String(i))));
  $('threadBox').classList.toggle('hidden', trees.length < 2);
  threadSel.addEventListener('change', () => {
    state.tree = Number(threadSel.value);
    relayout();
  });
  const viewSel = $<HTMLSelectElement>('view');
  viewSel.addEventListener('change', () => {
    state.view = viewSel.value;
    render();
  });
  const search = $<HTMLInputElement>('search');
  search.addEventListener('input', () => {
    const text = search.value.trim();
    let re: RegExp | null = null;
    if (text) {
      try {
        re = new RegExp(text, 'i');
      } catch {
        re = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
      }
    }
    state.search = re;
    render();
  });
  $('reset').addEventListener('click', () => {
    state.zoom = 0;
    render();
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      state.zoom = 0;
      render();
    }
  });
  $('table')
    .querySelectorAll('th')
    .forEach((th) =>
      th.addEventListener('click', () => {
        state.sort = th.dataset.sort ?? 'self';
        render();
      }),
    );
  canvas.addEventListener('mousemove', (ev) => {
    const r = hit(ev);
    if (!r) {
      tip.style.display = 'none';
      return;
    }
    tip.textContent = describe(r.node);
    tip.style.display = 'block';
    const left = Math.min(ev.clientX + 12, document.documentElement.clientWidth - tip.offsetWidth - 4);
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${ev.clientY + 14}px`;
  });
  canvas.addEventListener('mouseleave', () => {
    tip.style.display = 'none';
  });
  canvas.addEventListener('click', (ev) => {
    const r = hit(ev);
    if (!r) return;
    state.zoom = r.node;
    render();
  });
  let resizing = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(() => state.view === 'flame' && draw());
  });

  // What is on the screen, for tests and for anyone scripting the page.
  (window as unknown as { nodeprofFlame: unknown }).nodeprofFlame = {
    drawn: () =>
      drawn.flat().map((r) => ({
        name: nameOf(r.node),
        file: fileOf(r.node),
        x: r.x,
        w: r.w,
        depth: r.depth,
        total: laid.total[r.node],
        self: cur().self[state.type]![r.node],
      })),
    describe: (node: number) => describe(node),
  };
  render();
  requestAnimationFrame(() => performance.mark('nodeprof-flame-drawn'));
}
