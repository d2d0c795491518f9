/**
 * ECharts, tree-shaken to the charts the page draws, with the SVG renderer:
 * chart marks are DOM nodes, crisp at any zoom, and a real mouse can hover
 * them in the browser tests.
 */
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart, ScatterChart, TreeChart } from 'echarts/charts';
import type { BarSeriesOption, HeatmapSeriesOption, LineSeriesOption, ScatterSeriesOption, TreeSeriesOption } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import type { GridComponentOption, LegendComponentOption, MarkLineComponentOption, TooltipComponentOption, VisualMapComponentOption } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([BarChart, HeatmapChart, LineChart, ScatterChart, TreeChart, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, VisualMapComponent, SVGRenderer]);

export type ChartOption = echarts.ComposeOption<
  BarSeriesOption | HeatmapSeriesOption | LineSeriesOption | ScatterSeriesOption | TreeSeriesOption
  | GridComponentOption | LegendComponentOption | MarkLineComponentOption | TooltipComponentOption | VisualMapComponentOption
>;
export type Chart = echarts.ECharts;

/** Where the bytes went, in the same colours everywhere on the page. */
export const COLORS = {
  deduplicated: '#0d9488',
  compression: '#6366f1',
  delta: '#f59e0b',
  stored: '#94a3b8',
  logical: '#334155',
  accent: '#2563eb',
  /** A lossy version (`tessera approx`): never mistaken for the lossless one. */
  lossy: '#ea580c',
} as const;

/** Tooltips in the page's ink and size rather than ECharts' grey. */
export const TOOLTIP_STYLE = { className: 'chart-tip', textStyle: { color: '#0f172a', fontSize: 13 }, borderColor: '#cbd5e1', extraCssText: 'box-shadow:0 4px 14px rgba(15,23,42,.15);max-width:440px;white-space:normal' };

const charts = new Set<Chart>();

/** The chart drawn in `el` (made on first use), with `option` replacing what it showed. */
export function draw(el: HTMLElement, option: ChartOption): Chart {
  let chart = echarts.getInstanceByDom(el);
  if (!chart) {
    chart = echarts.init(el, undefined, { renderer: 'svg' });
    charts.add(chart);
  }
  chart.setOption({ textStyle: { fontFamily: 'inherit' }, animationDuration: 300, ...option }, { notMerge: true });
  return chart;
}

let pending = 0;
window.addEventListener('resize', () => {
  cancelAnimationFrame(pending);
  pending = requestAnimationFrame(() => charts.forEach((c) => c.resize()));
});

/** Escapes text for ECharts' HTML tooltips. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
