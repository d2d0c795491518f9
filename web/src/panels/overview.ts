import { TOOLTIP_STYLE, draw, esc } from '../charts.js';
import { fill, h, num } from '../dom.js';
import { bytes, percent } from '../../../src/wire/format.js';
import { plural } from '../format.js';
import { PARTS, savedBytes } from '../savings.js';
import type { StoreStats } from '../../../src/wire/store-json.js';

/** The headline: how many models, how much is stored, how much was saved. */
export function renderOverview(root: HTMLElement, s: StoreStats): void {
  const saved = savedBytes(s);
  const card = (label: string, value: HTMLElement, note: string, testid: string): HTMLElement =>
    h('div', { class: 'card', 'data-testid': testid }, h('div', { class: 'card-label' }, label), h('div', { class: 'card-value' }, value), h('div', { class: 'card-note' }, note));

  fill(root,
    h('h1', { class: 'headline', 'data-testid': 'headline' },
      s.models === 0
        ? 'The store is empty: drop a model file below to see what Tessera saves.'
        : ['Tessera saved ', num(bytes(saved), saved, 'stat-saved'), ' ', h('span', { class: 'pct', 'data-testid': 'stat-saved-pct' }, `(${percent(saved, s.logicalBytes)})`)]),
    s.models === 0 ? null : h('p', { class: 'subline' },
      `Your ${plural(s.models, 'model')} ${s.models === 1 ? 'adds' : 'add'} up to ${bytes(s.logicalBytes)} of files; Tessera keeps them in ${bytes(s.storedBytes)}, `
      + 'because bytes that models share are stored once and the rest is compressed.'),
    h('div', { class: 'cards' },
      card('Models', num(String(s.models), s.models, 'stat-models'), `${plural(s.files, 'file')}, ${plural(s.chunks, 'chunk')}`, 'card-models'),
      card('Logical size', num(bytes(s.logicalBytes), s.logicalBytes, 'stat-logical'), 'what the model files add up to', 'card-logical'),
      card('Stored', num(bytes(s.storedBytes), s.storedBytes, 'stat-stored'), `what Tessera keeps (${percent(s.storedBytes, s.logicalBytes)} of it); database file ${bytes(s.dbBytes)}`, 'card-stored'),
      card('Saved', num(bytes(saved), saved, 'stat-saved-card'), 'logical size minus stored', 'card-saved')),
  );
}

/** The stacked bar of where the logical bytes went, with each part explained. `root` must be in the document. */
export function renderWhere(root: HTMLElement, s: StoreStats): void {
  const chart = h('div', { class: 'chart chart-bar', 'data-testid': 'where-chart' });
  fill(root,
    h('h2', {}, 'Where the bytes went'),
    h('p', { class: 'explain' }, 'Every byte of every model file ends up in one of four places. Shared bytes are stored once, however many models hold them.'),
    chart,
    h('ul', { class: 'legend' }, PARTS.map((p) => h('li', { 'data-testid': `part-${p.key}` },
      h('i', { class: 'swatch', style: `background:${p.color}` }),
      h('b', {}, p.label), ' ', num(bytes(s[p.field]), s[p.field], `part-${p.key}-bytes`), h('span', { class: 'muted' }, ` (${percent(s[p.field], s.logicalBytes)})`),
      h('div', { class: 'muted small' }, p.explain)))),
  );
  draw(chart, {
    grid: { left: 4, right: 4, top: 4, bottom: 4 },
    xAxis: { type: 'value', max: Math.max(1, s.logicalBytes), show: false },
    yAxis: { type: 'category', data: ['store'], show: false },
    tooltip: {
      ...TOOLTIP_STYLE, trigger: 'item',
      formatter: (p) => {
        const part = PARTS[(p as { seriesIndex: number }).seriesIndex]!;
        const v = s[part.field];
        return `<b>${esc(part.label)}</b>: ${bytes(v)} (${percent(v, s.logicalBytes)})<br><span style="color:#64748b">${esc(part.explain)}</span>`;
      },
    },
    series: PARTS.map((p) => ({
      type: 'bar', stack: 'all', name: p.label, data: [s[p.field]], barWidth: 36,
      itemStyle: { color: p.color },
      label: {
        show: s.logicalBytes > 0 && s[p.field] / s.logicalBytes > 0.07, position: 'inside', color: '#fff', fontWeight: 'bold',
        formatter: () => percent(s[p.field], s.logicalBytes),
      },
    })),
  });
}
