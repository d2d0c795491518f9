import { COLORS, TOOLTIP_STYLE, draw, esc } from '../charts.js';
import type { Chart } from '../charts.js';
import { fill, h } from '../dom.js';
import { bytes, listSome, percent } from '../../../src/wire/format.js';
import type { SharingMatrix, SharingModel } from '../../../src/wire/sharing-json.js';

/** The heatmap's chart element, with where a cell is drawn (for a pointer, a keyboard or the browser tests). */
export interface HeatmapElement extends HTMLElement {
  /** Centre of the cell of models `row` × `col` (refs), in pixels from the element's top left; undefined if absent. */
  cellCenter?: (row: string, col: string) => { x: number; y: number } | undefined;
}

const DIAGONAL = '#e2e8f0';

/** The [column, row, bytes] of the cell an ECharts event or formatter is about. */
function cellOf(p: unknown): [number, number, number] {
  const v = (p as { value?: unknown }).value;
  return Array.isArray(v) && v.length === 3 ? [Number(v[0]), Number(v[1]), Number(v[2])] : [0, 0, 0];
}

/** "A ↔ B: 1.2 MiB" pairs, largest first. */
function topPairs(m: SharingMatrix, most: number): { a: number; b: number; bytes: number }[] {
  const pairs: { a: number; b: number; bytes: number }[] = [];
  for (let a = 0; a < m.models.length; a++) {
    for (let b = a + 1; b < m.models.length; b++) if (m.bytes[a]![b]! > 0) pairs.push({ a, b, bytes: m.bytes[a]![b]! });
  }
  return pairs.sort((x, y) => y.bytes - x.bytes).slice(0, most);
}

/** Which of the two was stored as a delta of the other, in words, or ''. */
function deltaNote(a: SharingModel, b: SharingModel): string {
  const [derived, base] = a.base === b.ref ? [a, b] : b.base === a.ref ? [b, a] : [];
  if (!derived || !base) return '';
  return `<br><span style="color:${COLORS.delta}">■</span> ${esc(derived.ref)} is stored as a delta of ${esc(base.ref)}: `
    + 'its changed tensors are kept as their differences from the base\'s, not as shared copies';
}

/** Tooltip text for cell (i, j), model indices. */
function cellTip(m: SharingMatrix, i: number, j: number): string {
  const a = m.models[i]!;
  const b = m.models[j]!;
  const v = m.bytes[i]![j]!;
  if (m.grouping === 'families') {
    const fam = (x: SharingModel): string => `the family of <b>${esc(x.ref)}</b> (${x.members ?? 1} models)`;
    if (i === j) return `${fam(a)}<br>its largest model: ${bytes(v)} of distinct bytes`;
    return v === 0 ? `${fam(a)} and ${fam(b)}<br>share no identical bytes` : `${fam(a)} ↔ ${fam(b)}<br>two of their models share <b>${bytes(v)}</b>`;
  }
  if (i === j) {
    return `<b>${esc(a.ref)}</b><br>${bytes(v)} of distinct tensor and file bytes (the file is ${bytes(a.logicalBytes)})`
      + `${a.base ? `<br>stored as a delta of ${esc(a.base)}` : ''}`;
  }
  if (v === 0) return `<b>${esc(a.ref)}</b> and <b>${esc(b.ref)}</b><br>share no identical bytes${deltaNote(a, b)}`;
  const t = m.tensors[i]![j]!;
  return `<b>${esc(a.ref)}</b> ↔ <b>${esc(b.ref)}</b><br>`
    + `share <b>${bytes(v)}</b>, stored once: ${percent(v, a.distinctBytes)} of ${esc(a.ref)}, ${percent(v, b.distinctBytes)} of ${esc(b.ref)}<br>`
    + (t.count > 0 ? `<span style="color:#64748b">${t.count === 1 ? 'tensor' : `${t.count} tensors`}:</span> ${esc(listSome(t.names, t.count, 8))}` : '<span style="color:#64748b">(file bytes outside tensors)</span>')
    + deltaNote(a, b);
}

/**
 * Models × models, each cell the bytes two models share, in the server's
 * cluster order so a family (a base, its fine-tunes, its exports) forms a
 * dark block. `open` is called with a model ref when a row, column or cell is clicked.
 */
export function renderHeatmap(root: HTMLElement, m: SharingMatrix, open: (ref: string) => void): void {
  const n = m.models.length;
  const chartEl: HeatmapElement = h('div', { class: 'chart chart-heatmap', 'data-testid': 'heatmap-chart' });
  const pairs = topPairs(m, 6);
  const families = m.grouping === 'families';
  fill(root,
    h('h2', {}, 'Who shares what'),
    families ? h('p', { class: 'explain', 'data-testid': 'heatmap-families' },
      `The store holds ${m.totalModels.toLocaleString()} models: too many to draw one by one. Each row is a family instead, the ${n} largest: `,
      'models that joined one another at import (versions of one name, a fine-tune and its base, models sharing half their bytes), named by its first model with its size in brackets. ',
      'A cell is the most two of their members share. Click a family to open its first model; tessera sharing --top lists the pairs.') : h('p', { class: 'explain' },
      'Each cell is how many bytes two models have in common. Tessera stores those bytes once. ',
      'Models are ordered so that families (a base model, its fine-tunes, the same weights in another format) sit together as dark blocks. ',
      'The grey diagonal is each model on its own; an orange frame marks a fine-tune stored as a delta of its base. Hover a cell to see the shared tensors; click a model to open it.'),
    n < 2 ? h('p', { class: 'empty' }, 'Sharing shows once the store holds two models or more.') : h('div', { class: 'heatmap-wrap' }, h('div', { class: 'scroll-x' }, chartEl),
      h('div', { class: 'pairs', 'data-testid': 'top-pairs' },
        h('h3', {}, 'Most shared pairs'),
        pairs.length === 0 ? h('p', { class: 'muted' }, 'No two models share any bytes yet.') : h('ol', {}, pairs.map((p) => h('li', {},
          h('a', { href: `#model=${encodeURIComponent(m.models[p.a]!.ref)}` }, m.models[p.a]!.ref), ' ↔ ',
          h('a', { href: `#model=${encodeURIComponent(m.models[p.b]!.ref)}` }, m.models[p.b]!.ref),
          h('div', { class: 'muted small' }, `${bytes(p.bytes)}, ${percent(p.bytes, Math.min(m.models[p.a]!.distinctBytes, m.models[p.b]!.distinctBytes))} of the smaller`))))),
    ),
  );
  if (n < 2) return;

  const order = m.order.length === n ? m.order : m.models.map((_, i) => i);
  // A family shows as its first model and how many it has.
  const refs = order.map((i) => m.models[i]!.ref);
  const labels = order.map((i) => (m.models[i]!.members ? `${m.models[i]!.ref} (${m.models[i]!.members})` : m.models[i]!.ref));
  const position = new Map(order.map((i, k) => [i, k]));
  let max = 1;
  type Cell = [number, number, number];
  const cells: Cell[] = [];
  const deltas: Cell[] = [];
  const diagonal: Cell[] = [];
  for (const i of order) {
    for (const j of order) {
      const cell: Cell = [position.get(j)!, position.get(i)!, m.bytes[i]![j]!];
      const a = m.models[i]!;
      const b = m.models[j]!;
      if (i === j) diagonal.push(cell);
      // A delta pair shares few identical bytes: an orange frame shows the kinship the colour cannot.
      // (A series of their own, drawn last, so no neighbour's white border covers the frame.)
      else if (a.base === b.ref || b.base === a.ref) deltas.push(cell);
      else cells.push(cell);
      if (i !== j) max = Math.max(max, cell[2]);
    }
  }
  const labelWidth = Math.min(220, 7 * Math.max(...labels.map((l) => l.length)));
  // Square cells as large as the panel allows (room for the labels and the colour scale), within reason.
  const room = (chartEl.clientWidth || 800) - labelWidth - 120;
  const cell = Math.max(10, Math.min(72, Math.floor(room / n), Math.floor(720 / n)));
  // Room below the grid for the column labels, turned 45°.
  chartEl.style.height = `${n * cell + Math.ceil(labelWidth * 0.75) + 24}px`;
  // A store too big for the panel scrolls sideways rather than squeezing cells below legibility.
  chartEl.style.minWidth = `${labelWidth + n * cell + 120}px`;
  const showValues = cell >= 48;
  const valueLabel = {
    show: showValues, fontSize: 10,
    formatter: (p: unknown) => {
      const v = cellOf(p)[2];
      return v > 0 ? bytes(v).replace(' ', '\u2009') : '';
    },
  };
  const byPosition = (x: number, y: number): [number, number] => [order[y]!, order[x]!];
  const chart: Chart = draw(chartEl, {
    grid: { left: labelWidth + 8, top: 8, width: n * cell, height: n * cell },
    tooltip: {
      ...TOOLTIP_STYLE, trigger: 'item', confine: true,
      formatter: (p) => {
        const [x, y] = cellOf(p);
        const [i, j] = byPosition(x, y);
        return cellTip(m, i, j);
      },
    },
    xAxis: {
      type: 'category', data: labels, position: 'bottom', triggerEvent: true, splitArea: { show: false },
      axisLabel: { rotate: 45, interval: 0, fontSize: 11, width: labelWidth, overflow: 'truncate' }, axisTick: { show: false }, axisLine: { show: false },
    },
    yAxis: {
      type: 'category', data: labels, inverse: true, triggerEvent: true,
      axisLabel: { interval: 0, fontSize: 11, width: labelWidth, overflow: 'truncate' }, axisTick: { show: false }, axisLine: { show: false },
    },
    visualMap: {
      type: 'continuous', seriesIndex: [0, 2], min: 0, max, calculable: false, orient: 'vertical', left: labelWidth + n * cell + 24, top: 8,
      itemWidth: 12, itemHeight: Math.max(80, Math.min(220, n * cell - 40)), text: [`${bytes(max)} shared`, 'nothing'], textStyle: { fontSize: 11, color: '#475569' },
      formatter: (v: unknown) => bytes(Number(v)),
      inRange: { color: ['#f1f5f9', '#bfdbfe', '#3b82f6', '#1e3a8a'] },
    },
    series: [
      {
        type: 'heatmap', name: 'shared', data: cells,
        itemStyle: { borderColor: '#fff', borderWidth: 1 },
        emphasis: { itemStyle: { borderColor: '#0f172a', borderWidth: 2 } },
        label: valueLabel,
      },
      {
        type: 'heatmap', name: 'itself', data: diagonal,
        itemStyle: { color: DIAGONAL, borderColor: '#fff', borderWidth: 1 },
        label: { show: showValues, fontSize: 10, color: '#64748b', formatter: () => 'self' },
      },
      {
        type: 'heatmap', name: 'delta', data: deltas,
        itemStyle: { borderColor: COLORS.delta, borderWidth: 2 },
        emphasis: { itemStyle: { borderColor: '#0f172a', borderWidth: 2 } },
        label: valueLabel,
      },
    ],
  });
  chart.off('click');
  chart.on('click', (e) => {
    const ev = e as { componentType: string; value?: unknown; seriesIndex?: number };
    if (ev.componentType === 'xAxis' || ev.componentType === 'yAxis') open(refs[labels.indexOf(String(ev.value))] ?? String(ev.value));
    else if (ev.componentType === 'series') open(refs[cellOf(ev)[1]]!);
  });
  chartEl.cellCenter = (row, col) => {
    const y = refs.indexOf(row);
    const x = refs.indexOf(col);
    if (x < 0 || y < 0) return undefined;
    const [px, py] = chart.convertToPixel({ gridIndex: 0 }, [x, y]) as number[];
    return { x: px!, y: py! };
  };
}
