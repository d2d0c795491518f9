import { COLORS, TOOLTIP_STYLE, draw, esc } from '../charts.js';
import type { Chart } from '../charts.js';
import { fill, h, num } from '../dom.js';
import { bytes, percent } from '../../../src/wire/format.js';
import { formatDrop, formatMetric, lossySummary } from '../../../src/wire/lossy.js';
import type { LossyInfo } from '../../../src/wire/lossy.js';
import type { ModelStats } from '../../../src/wire/store-json.js';

/** The lossy panel's chart element, with where a version's point is drawn (for the browser tests, as the heatmap's cells). */
export interface LossyChartElement extends HTMLElement {
  /** Centre of the point of `ref` (or of 'lossless', the reference point), in pixels from the element's top left. */
  pointCenter?: (ref: string) => { x: number; y: number } | undefined;
}

/** A lossy version's stored bytes as a share of its lossless version's (what only the lossless one needs): 100 saves nothing. */
export function storedPercent(info: LossyInfo): number {
  const whole = info.losslessUniqueStoredBytes;
  return whole > 0 ? (100 * (whole - info.savedStoredBytes)) / whole : 100;
}

/** A fraction as points on the chart's x axis (relative error: its increase ×100). */
const points = (fraction: number): number => 100 * fraction;

/** The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × a power of ten) at least `x`: an axis end whose label reads well. */
function roundUp(x: number): number {
  if (!(x > 0)) return 1;
  const scale = 10 ** Math.floor(Math.log10(x));
  return scale * ([1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * scale >= x * (1 - 1e-9)) ?? 10);
}

/** A link that opens model `ref` in the detail panel. */
function modelLink(ref: string, open: (ref: string) => void, testid?: string): HTMLElement {
  return h('a', { href: `#model=${encodeURIComponent(ref)}`, 'data-testid': testid, onclick: (e: Event) => { e.preventDefault(); open(ref); } }, ref);
}

/** The "lossy" badge beside a model's name, its one-line summary as the tooltip. */
export function lossyBadge(info: LossyInfo | null | undefined): HTMLElement | null {
  return info ? h('span', { class: 'badge lossy', title: lossySummary(info), 'data-testid': 'lossy-badge' }, 'lossy') : null;
}

/**
 * A lossy version in the model's details: the metric before and after on
 * both splits, its bound, what was replaced and what it saved, and the
 * lossless version it came from (a click opens it).
 */
export function lossyDetail(info: LossyInfo, open: (ref: string) => void): HTMLElement {
  const m = info.metric;
  const row = (key: string, label: string, search: string | number, heldOut: string | number): HTMLElement =>
    h('tr', { 'data-row': key }, h('td', {}, label), h('td', { class: 'r' }, search), h('td', { class: 'r' }, heldOut));
  const kept = info.drop.heldOut <= info.maxDrop;
  return h('div', { class: 'lossy-detail', 'data-testid': 'lossy-detail' },
    h('h3', {}, 'Lossy version ', lossyBadge(info)),
    h('p', {},
      'Made by ', h('code', {}, 'tessera approx'), ' from ', modelLink(info.from, open, 'lossy-from'),
      ', which is kept unchanged. Its bytes are not the original model\'s: a download or an export gives this version\'s own bytes, checked against its own SHA-256.'),
    h('table', { class: 'lossy-metrics', 'data-testid': 'lossy-metrics' },
      h('thead', {}, h('tr', {}, h('th', {}, m), h('th', { class: 'r' }, 'search rows'), h('th', { class: 'r' }, 'held-out rows'))),
      h('tbody', {},
        row('before', `before (${info.from})`, formatMetric(m, info.before.search), formatMetric(m, info.before.heldOut)),
        row('after', 'after (this version)', formatMetric(m, info.after.search), formatMetric(m, info.after.heldOut)),
        row('drop', 'drop', formatDrop(m, info.drop.search), formatDrop(m, info.drop.heldOut)),
        row('rows', 'rows', info.rows.search, info.rows.heldOut))),
    h('ul', { class: 'lossy-facts small' },
      h('li', { 'data-testid': 'lossy-bound' }, `Bound: a drop of at most ${formatDrop(m, info.maxDrop)} on the held-out rows — `,
        h('b', { class: kept ? 'ok' : 'error' }, kept ? 'kept' : 'exceeded')),
      h('li', { 'data-testid': 'lossy-blocks' }, `Blocks replaced: ${info.blocks.replaced} of ${info.blocks.total} float blocks (${percent(info.blocks.replaced, info.blocks.total)}) of ${bytes(info.blocks.blockBytes)}, `
        + `${bytes(info.replacedRawBytes)} of raw weights; ${info.blocks.candidates} had a near-identical stored block.`),
      h('li', { 'data-testid': 'lossy-saved' }, 'Stored bytes saved: ', h('b', {}, num(bytes(info.savedStoredBytes), info.savedStoredBytes, 'lossy-saved-bytes')),
        ` of the ${bytes(info.losslessUniqueStoredBytes)} only ${info.from} needs (${percent(info.savedStoredBytes, info.losslessUniqueStoredBytes)}).`),
      h('li', { class: 'muted' }, `Search: ${info.evaluations} evaluations in ${info.seconds.toFixed(1)} s.`)));
}

/**
 * The store's lossy versions, when it has any: each one's held-out drop
 * against the stored bytes it costs beside its lossless version, with the
 * bound it was made under, and a table of the same. Empty (the panel hides)
 * when every model is lossless. `root` must be in the document.
 */
export function renderLossy(root: HTMLElement, models: ModelStats[], open: (ref: string) => void): void {
  const lossy = models.filter((m): m is ModelStats & { lossy: LossyInfo } => !!m.lossy)
    .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  if (lossy.length === 0) {
    fill(root);
    return;
  }
  const chartEl: LossyChartElement = h('div', { class: 'chart chart-lossy', 'data-testid': 'lossy-chart' });
  fill(root,
    h('h2', {}, 'Lossy versions'),
    h('p', { class: 'explain' },
      'Versions made by tessera approx: some float blocks replaced by near-identical blocks the store already holds, under a bound on how much the metric may drop. ',
      'Each point is one of them: to the right, the drop measured on rows held out from the search; down, the stored bytes it costs as a share of what its lossless version costs. ',
      'Dashed lines are the bounds; the grey point is the lossless version (no drop, 100%), which is kept unchanged. Click a version to open it.'),
    h('div', { class: 'lossy-wrap' },
      h('div', {}, chartEl),
      h('div', { class: 'scroll-x' }, h('table', { class: 'lossy-table', 'data-testid': 'lossy-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'model'), h('th', {}, 'from'), h('th', { class: 'r' }, 'bound'), h('th', { class: 'r' }, 'drop held-out'),
          h('th', { class: 'r' }, 'blocks replaced'), h('th', { class: 'r' }, 'stored bytes saved'))),
        h('tbody', {}, lossy.map((m) => h('tr', { 'data-testid': 'lossy-row', 'data-model': m.model },
          h('td', {}, modelLink(m.model, open)),
          h('td', {}, modelLink(m.lossy.from, open)),
          h('td', { class: 'r' }, formatDrop(m.lossy.metric, m.lossy.maxDrop)),
          h('td', { class: 'r' }, formatDrop(m.lossy.metric, m.lossy.drop.heldOut), h('div', { class: 'muted small' }, m.lossy.metric)),
          h('td', { class: 'r' }, `${m.lossy.blocks.replaced} of ${m.lossy.blocks.total}`),
          h('td', { class: 'r' }, num(bytes(m.lossy.savedStoredBytes), m.lossy.savedStoredBytes),
            h('div', { class: 'muted small' }, `${percent(m.lossy.savedStoredBytes, m.lossy.losslessUniqueStoredBytes)} of ${m.lossy.from}'s own`)))))))),
  );

  type Point = [number, number, string];
  const data: Point[] = lossy.map((m) => [points(m.lossy.drop.heldOut), storedPercent(m.lossy), m.model]);
  const lossless: Point[] = [[0, 100, 'lossless']];
  // One dashed line per distinct bound, named as its versions' metric writes it.
  const bounds = [...new Map(lossy.map((m) => [m.lossy.maxDrop, `bound ${formatDrop(m.lossy.metric, m.lossy.maxDrop)}`])).entries()]
    .map(([value, name]) => ({ value, name })).sort((a, b) => a.value - b.value);
  // Room for every bound line and every point, so none falls off the axis.
  const xMax = roundUp(Math.max(...data.map((p) => p[0]), ...bounds.map((b) => points(b.value))) * 1.15);
  const yMin = Math.max(0, Math.floor((Math.min(...data.map((p) => p[1])) - 5) / 10) * 10);
  const byRef = new Map(lossy.map((m) => [m.model, m]));
  const froms = [...new Set(lossy.map((m) => m.lossy.from))];
  const chart: Chart = draw(chartEl, {
    grid: { left: 56, right: 24, top: 36, bottom: 44 },
    legend: { top: 0, itemGap: 16, itemWidth: 12, itemHeight: 10, textStyle: { fontSize: 11 }, data: ['lossless', 'lossy'] },
    tooltip: {
      ...TOOLTIP_STYLE, trigger: 'item', confine: true,
      formatter: (p) => {
        const ref = String(((p as { value?: unknown }).value as Point | undefined)?.[2] ?? '');
        const m = byRef.get(ref);
        if (!m) return `<b>lossless</b> (${esc(froms.join(', '))}): no drop, 100% of its stored bytes; kept unchanged`;
        const i = m.lossy;
        return `<b>${esc(m.model)}</b> <span style="color:#64748b">lossy version of ${esc(i.from)}</span><br>`
          + `${esc(i.metric)} ${formatMetric(i.metric, i.before.heldOut)} → ${formatMetric(i.metric, i.after.heldOut)} on held-out rows: `
          + `drop ${formatDrop(i.metric, i.drop.heldOut)} (bound ${formatDrop(i.metric, i.maxDrop)})<br>`
          + `stored ${percent(i.losslessUniqueStoredBytes - i.savedStoredBytes, i.losslessUniqueStoredBytes)} of ${esc(i.from)}'s own ${bytes(i.losslessUniqueStoredBytes)}: `
          + `saved ${bytes(i.savedStoredBytes)}, ${i.blocks.replaced} of ${i.blocks.total} blocks replaced`;
      },
    },
    xAxis: {
      type: 'value', min: 0, max: xMax, name: 'held-out drop (points)', nameLocation: 'middle', nameGap: 28,
      axisLabel: { fontSize: 11, hideOverlap: true, formatter: (v: number) => `${Number(v.toFixed(3))}` }, splitLine: { lineStyle: { color: '#e2e8f0' } },
    },
    yAxis: {
      type: 'value', min: yMin, max: 100, name: 'stored, % of lossless', nameTextStyle: { fontSize: 11, align: 'left' },
      axisLabel: { fontSize: 11, formatter: (v: number) => `${v}%` }, splitLine: { lineStyle: { color: '#e2e8f0' } },
    },
    series: [
      {
        type: 'scatter', name: 'lossless', data: lossless, symbolSize: 12, clip: false,
        itemStyle: { color: COLORS.stored, borderColor: '#475569', borderWidth: 1 },
      },
      {
        type: 'scatter', name: 'lossy', data, symbolSize: 12, clip: false,
        itemStyle: { color: COLORS.lossy, borderColor: '#9a3412', borderWidth: 1 },
        label: { show: data.length <= 12, position: 'right', fontSize: 11, color: '#334155', formatter: (p: unknown) => String(((p as { value?: unknown }).value as Point)[2]) },
        markLine: {
          symbol: 'none', silent: true,
          lineStyle: { type: 'dashed', color: COLORS.lossy, width: 1.2 },
          label: { position: 'insideEndTop', fontSize: 10, color: '#9a3412', formatter: '{b}' },
          data: bounds.map((b) => ({ xAxis: points(b.value), name: b.name })),
        },
      },
    ],
  });
  chart.off('click');
  chart.on('click', (e) => {
    const ref = ((e as { value?: unknown }).value as Point | undefined)?.[2];
    if (ref && byRef.has(ref)) open(ref);
  });
  chartEl.pointCenter = (ref) => {
    const p = ref === 'lossless' ? lossless[0] : data.find((d) => d[2] === ref);
    if (!p) return undefined;
    const [x, y] = chart.convertToPixel({ gridIndex: 0 }, [p[0], p[1]]) as number[];
    return { x: x!, y: y! };
  };
}
