import { fill, h, num } from '../dom.js';
import { bytes, percent } from '../../../src/wire/format.js';
import { when } from '../format.js';
import { partsKey, savedBytes, savingsBar } from '../savings.js';
import type { ModelStats } from '../../../src/wire/store-json.js';
import { lossyBadge } from './lossy.js';

/** Every model with what its import saved; a click opens its details. */
export function renderModels(root: HTMLElement, models: ModelStats[], selected: string | undefined, open: (ref: string) => void): void {
  const rows = [...models].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version - b.version));
  fill(root,
    h('h2', {}, 'Models'),
    h('p', { class: 'explain' }, 'The bar shows where each model\'s bytes went when it was imported: the first model of a family is mostly stored, the ones after it mostly deduplicated. Click a model for its files, tensors and family.'),
    partsKey(),
    rows.length === 0 ? h('p', { class: 'empty' }, 'No models yet.') : h('table', { class: 'models', 'data-testid': 'model-list' },
      h('thead', {}, h('tr', {}, h('th', {}, 'model'), h('th', {}, 'format'), h('th', { class: 'r' }, 'size'), h('th', { class: 'r' }, 'stored'),
        h('th', { class: 'bar-col' }, 'where its bytes went'), h('th', {}, 'base'), h('th', {}, 'imported'))),
      h('tbody', {}, rows.map((m) => h('tr', {
        class: m.model === selected ? 'selected' : '', 'data-testid': 'model-row', 'data-model': m.model, tabindex: 0,
        onclick: () => open(m.model),
        onkeydown: (e: Event) => { if ((e as KeyboardEvent).key === 'Enter') open(m.model); },
      },
      h('td', {}, h('a', { href: `#model=${encodeURIComponent(m.model)}`, class: 'model-link' }, m.model),
        m.unavailable !== null ? h('span', { class: 'badge bad', title: m.unavailable }, 'unavailable') : null,
        lossyBadge(m.lossy)),
      h('td', {}, h('span', { class: 'badge' }, m.format)),
      h('td', { class: 'r' }, num(bytes(m.logicalBytes), m.logicalBytes)),
      h('td', { class: 'r' }, num(bytes(m.storedBytes), m.storedBytes), h('div', { class: 'muted small' }, `saved ${percent(savedBytes(m), m.logicalBytes)}`)),
      h('td', { class: 'bar-col' }, savingsBar(m)),
      h('td', {}, m.base ?? h('span', { class: 'muted' }, '—')),
      h('td', { class: 'muted small' }, when(m.createdAt)))))),
  );
}
