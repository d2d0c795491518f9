import { fill, h, num } from '../dom.js';
import { bytes, percent } from '../../../src/wire/format.js';
import { when } from '../format.js';
import { partsKey, savedBytes, savingsBar } from '../savings.js';
import type { ModelPage, ModelStats } from '../../../src/wire/store-json.js';
import { lossyBadge } from './lossy.js';

/** Models one page of the list shows. */
export const MODELS_PAGE = 50;

/** Reads a page of models (after a cursor, names holding `search`). */
export type ReadPage = (q: { after?: string; search?: string; limit: number }) => Promise<ModelPage<ModelStats>>;

/**
 * The models, a page at a time in name order, with what each import saved;
 * a search box narrows them by name; a click opens a model's details. Pages
 * come from the server (/api/stats/models): a store of 100,000 models shows
 * its first page as fast as a store of ten.
 */
export function renderModels(root: HTMLElement, read: ReadPage, selected: () => string | undefined, open: (ref: string) => void): Promise<void> {
  const search = h('input', { type: 'search', placeholder: 'search names', 'aria-label': 'search model names', 'data-testid': 'model-search' });
  const body = h('div', {});
  // Cursors of the pages shown so far: back pops one.
  const cursors: (string | undefined)[] = [undefined];
  let shown = 0;
  let seq = 0;
  const load = async (): Promise<void> => {
    const mine = ++seq;
    const text = search.value.trim();
    const after = cursors[cursors.length - 1];
    const page = await read({ after, search: text || undefined, limit: MODELS_PAGE });
    if (mine !== seq) return;
    shown = page.models.length;
    const first = (cursors.length - 1) * MODELS_PAGE;
    fill(body,
      page.models.length === 0 ? h('p', { class: 'empty' }, text ? `No model name holds "${text}".` : 'No models yet.') : table(page.models, selected(), open),
      h('div', { class: 'pager', 'data-testid': 'model-pager' },
        h('span', { class: 'muted small' }, page.total === 0 ? '' : `${first + 1}–${first + shown} of ${page.total}${text ? ' matching' : ''}`),
        h('button', { type: 'button', disabled: cursors.length === 1, onclick: () => { cursors.pop(); void load(); } }, '← previous'),
        h('button', { type: 'button', disabled: page.next === null, 'data-testid': 'model-next', onclick: () => { cursors.push(page.next ?? undefined); void load(); } }, 'next →')));
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { cursors.splice(1); void load(); }, 200);
  });
  fill(root,
    h('h2', {}, 'Models'),
    h('p', { class: 'explain' }, 'The bar shows where each model\'s bytes went when it was imported: the first model of a family is mostly stored, the ones after it mostly deduplicated. Click a model for its files, tensors and family.'),
    partsKey(), search, body);
  return load();
}

function table(models: ModelStats[], selected: string | undefined, open: (ref: string) => void): HTMLElement {
  return h('table', { class: 'models', 'data-testid': 'model-list' },
    h('thead', {}, h('tr', {}, h('th', {}, 'model'), h('th', {}, 'format'), h('th', { class: 'r' }, 'size'), h('th', { class: 'r' }, 'stored'),
      h('th', { class: 'bar-col' }, 'where its bytes went'), h('th', {}, 'base'), h('th', {}, 'imported'))),
    h('tbody', {}, models.map((m) => h('tr', {
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
    h('td', { class: 'muted small' }, when(m.createdAt))))));
}
