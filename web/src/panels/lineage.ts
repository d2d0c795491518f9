import { COLORS, TOOLTIP_STYLE, draw } from '../charts.js';
import { fill, h } from '../dom.js';
import type { ModelStats } from '../../../src/wire/store-json.js';

/** The models linked to `ref` by base → derived edges (its ancestors, descendants and their relatives). */
export function family(models: ModelStats[], ref: string): ModelStats[] {
  const byRef = new Map(models.map((m) => [m.model, m]));
  const links = new Map<string, string[]>();
  const link = (a: string, b: string): void => void (links.get(a) ?? links.set(a, []).get(a)!).push(b);
  for (const m of models) {
    if (m.base && byRef.has(m.base)) {
      link(m.model, m.base);
      link(m.base, m.model);
    }
  }
  const seen = new Set([ref]);
  const queue = [ref];
  while (queue.length) for (const next of links.get(queue.shift()!) ?? []) if (!seen.has(next)) seen.add(next), queue.push(next);
  return models.filter((m) => seen.has(m.model));
}

interface TreeNode {
  name: string;
  tip: string;
  children: TreeNode[];
  symbolSize: number;
  itemStyle: { color: string; borderColor: string; borderWidth: number };
  label: { fontWeight: 'bold' | 'normal'; color: string };
}

/**
 * The family of `ref` as a tree, its oldest base on the left and the models
 * derived from each (stored as deltas against it) to its right; `ref`
 * highlighted. A sentence instead when the model has no relatives. `root`
 * must be in the document (a chart measures its box when drawn).
 */
export function renderLineage(root: HTMLElement, models: ModelStats[], ref: string, open: (ref: string) => void): void {
  const fam = family(models, ref);
  if (fam.length < 2) {
    fill(root, h('p', { class: 'muted', 'data-testid': 'lineage-none' }, 'No base and no derived models: this model was stored on its own, not as a delta of another.'));
    return;
  }
  const inFamily = new Set(fam.map((m) => m.model));
  const node = (m: ModelStats): TreeNode => {
    const mine = m.model === ref;
    return {
      name: m.model,
      tip: m.base && inFamily.has(m.base) ? `${m.model}: stored as a delta of ${m.base}` : `${m.model}: the base of this family, stored on its own`,
      // A base has one parent at most, so following "derived from" never loops.
      children: fam.filter((c) => c.base === m.model).sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1)).map(node),
      symbolSize: mine ? 18 : 12,
      itemStyle: { color: mine ? COLORS.accent : '#cbd5e1', borderColor: mine ? '#1e3a8a' : '#64748b', borderWidth: 1.5 },
      label: { fontWeight: mine ? 'bold' : 'normal', color: mine ? '#1e3a8a' : '#334155' },
    };
  };
  const top = fam.find((m) => !m.base || !inFamily.has(m.base))!;
  const tree = node(top);
  const leaves = (n: TreeNode): number => (n.children.length ? n.children.reduce((s, c) => s + leaves(c), 0) : 1);
  const el = h('div', { class: 'chart chart-lineage', 'data-testid': 'lineage-chart', style: `height:${Math.max(120, leaves(tree) * 48 + 40)}px` });
  fill(root, el);
  const chart = draw(el, {
    tooltip: { ...TOOLTIP_STYLE, trigger: 'item', formatter: (p) => String((p as { data?: { tip?: string } }).data?.tip ?? '') },
    series: [{
      type: 'tree', data: [tree], orient: 'LR', symbol: 'circle', left: 70, right: 90, top: 16, bottom: 28, initialTreeDepth: -1, expandAndCollapse: false, roam: false,
      label: { position: 'bottom', distance: 6, fontSize: 11 }, leaves: { label: { position: 'bottom' } },
      lineStyle: { color: '#94a3b8', width: 1.5, curveness: 0.4 },
      emphasis: { focus: 'none' },
    }],
  });
  chart.off('click');
  chart.on('click', (e) => {
    const name = (e as { name?: string }).name;
    if (name && name !== ref && inFamily.has(name)) open(name);
  });
}
