import { TOOLTIP_STYLE, draw, esc } from '../charts.js';
import { fill, h } from '../dom.js';
import { bytes, percent } from '../../../src/wire/format.js';
import { when } from '../format.js';
import { PARTS } from '../savings.js';
import type { ModelStats } from '../../../src/wire/store-json.js';

/**
 * Cumulative bytes as models were imported: the stacked areas add up to the
 * logical bytes so far, the grey bottom one is what was stored. Per-model
 * numbers are those counted at import, so later removals do not show here.
 */
export function renderTimeline(root: HTMLElement, perModel: ModelStats[], total = perModel.length): void {
  const models = [...perModel].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.model < b.model ? -1 : 1));
  const chart = h('div', { class: 'chart chart-timeline', 'data-testid': 'timeline-chart' });
  fill(root,
    h('h2', {}, 'Growth, import by import'),
    h('p', { class: 'explain' }, 'Total size of the models as they were imported, left to right. The top edge is the logical size; the grey band at the bottom is what Tessera stored. The gap between them is what it saved.',
      total > perModel.length ? ` The store holds ${total.toLocaleString()} models: this is its latest ${perModel.length.toLocaleString()} imports, summed from the first of them.` : ''),
    models.length === 0 ? h('p', { class: 'empty' }, 'No imports yet.') : chart,
  );
  if (models.length === 0) return;
  // Running sums per part, in import order.
  const running = PARTS.map(() => 0);
  const series = PARTS.map(() => [] as number[]);
  for (const m of models) {
    PARTS.forEach((p, i) => {
      running[i]! += m[p.field];
      series[i]!.push(running[i]!);
    });
  }
  const stackOrder = [...PARTS].reverse();
  draw(chart, {
    grid: { left: 48, right: 16, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, itemWidth: 14, itemHeight: 10, textStyle: { fontSize: 11 }, data: [...PARTS].map((p) => p.short) },
    tooltip: {
      ...TOOLTIP_STYLE, trigger: 'axis',
      formatter: (ps) => {
        const i = (Array.isArray(ps) ? ps[0] : ps)?.dataIndex ?? 0;
        const m = models[i]!;
        const logical = PARTS.reduce((sum, _p, k) => sum + series[k]![i]!, 0);
        const stored = series[PARTS.length - 1]![i]!;
        return `<b>after ${esc(m.model)}</b> <span style="color:#64748b">${esc(when(m.createdAt))}</span><br>`
          + `logical ${bytes(logical)}, stored ${bytes(stored)}, saved ${bytes(logical - stored)} (${percent(logical - stored, logical)})<br>`
          + `<span style="color:#64748b">this import: ${bytes(m.logicalBytes)}, stored ${bytes(m.storedBytes)}</span>`;
      },
    },
    xAxis: {
      type: 'category', data: models.map((m) => m.model), boundaryGap: false,
      axisLabel: { rotate: models.length > 8 ? 45 : models.length > 4 ? 30 : 0, fontSize: 11, hideOverlap: true },
    },
    yAxis: { type: 'value', axisLabel: { formatter: (v: number) => bytes(v) }, splitLine: { lineStyle: { color: '#e2e8f0' } } },
    // Stored at the bottom, deduplicated on top: the top edge is the logical total.
    series: stackOrder.map((p) => {
      const i = PARTS.indexOf(p);
      return {
        type: 'line', name: p.short, stack: 'bytes', data: series[i]!, symbol: 'circle', symbolSize: 5, showSymbol: models.length <= 40,
        lineStyle: { width: 1.5, color: p.color }, itemStyle: { color: p.color }, areaStyle: { color: p.color, opacity: p.key === 'stored' ? 0.9 : 0.55 },
      };
    }),
  });
}
