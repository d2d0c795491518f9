/**
 * A version's serving configuration, in the model's details: each setting in
 * words with the level that sets it (the same rows as `tessera config`),
 * whether the server batches its requests, and an ensemble's steps.
 */
import { ApiError, api } from '../api.js';
import type { ServingConfigView, TritonConfig } from '../api.js';
import { fill, h } from '../dom.js';
import { plural } from '../format.js';
import { describePolicy } from '../../../src/wire/serving-config.js';
import type { ServingConfig } from '../../../src/wire/serving-config.js';
import type { OipMetadata } from '../../../src/wire/oip.js';

type Key = keyof ServingConfig;

const SETTINGS: [Key, string][] = [
  ['max_batch_size', 'max batch size'],
  ['preferred_batch_size', 'preferred batch sizes'],
  ['max_queue_delay_microseconds', 'max queue delay'],
  ['instances', 'instances'],
  ['max_queue_size', 'max queue size'],
  ['version_policy', 'version policy'],
];

function inWords(c: ServingConfig, key: Key): string {
  switch (key) {
    case 'max_batch_size': return c.max_batch_size === 0 ? 'no dynamic batching' : String(c.max_batch_size);
    case 'preferred_batch_size': return c.preferred_batch_size.length ? c.preferred_batch_size.join(', ') : 'none';
    case 'max_queue_delay_microseconds': {
      const us = c.max_queue_delay_microseconds;
      return us === 0 ? '0 (run at once)' : us % 1000 === 0 ? `${us / 1000} ms` : `${us} µs`;
    }
    case 'instances': return c.instances === null ? 'server default' : String(c.instances);
    case 'max_queue_size': return plural(c.max_queue_size, 'request');
    case 'version_policy': return describePolicy(c.version_policy);
  }
}

/** The level a setting comes from: the version's own keys, the model's, or the defaults. */
function source(v: ServingConfigView, key: Key): 'version' | 'model' | 'default' {
  return v.own?.[key] !== undefined ? 'version' : v.model[key] !== undefined ? 'model' : 'default';
}

function settingsTable(v: ServingConfigView): Node {
  return h('table', { class: 'serving-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'setting'), h('th', {}, 'value'), h('th', {}, 'set by'))),
    h('tbody', {}, SETTINGS.map(([key, label]) => {
      const from = source(v, key);
      return h('tr', { 'data-setting': key, 'data-source': from },
        h('td', { title: key }, label), h('td', {}, inWords(v.effective, key)), h('td', { class: from === 'default' ? 'muted' : '' }, from));
    })));
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Whether the server batches this version's requests, from its metadata; a version the policy leaves out says so. */
function batchingLine(meta: PromiseSettledResult<OipMetadata>, ensemble: boolean): Node {
  const line = (...c: (Node | string)[]): HTMLElement => h('p', { class: 'small', 'data-testid': 'serving-batching' }, ...c);
  if (meta.status === 'rejected') {
    const e: unknown = meta.reason;
    if (e instanceof ApiError && e.status === 404 && /is not served/.test(e.message)) {
      return line(h('span', { class: 'muted', title: e.message }, 'Not served (version policy).'));
    }
    return line(h('span', { class: 'error' }, `Batching unknown: ${message(e)}`));
  }
  const p = meta.value.parameters ?? {};
  if (p.dynamic_batching === true) return line(h('span', { class: 'ok' }, 'Dynamic batching is active'), `: runs of up to ${String(p.max_batch_size)} rows.`);
  if (typeof p.dynamic_batching_off === 'string') return line('Dynamic batching is configured but off: ', p.dynamic_batching_off, '.');
  return line(h('span', { class: 'muted' }, ensemble
    ? 'No dynamic batching of the ensemble itself: each step batches by its own model\'s configuration.'
    : 'No dynamic batching: each request runs on its own.'));
}

/** An ensemble's steps as the server runs them (Triton's ensemble_scheduling). */
function stepsList(config: PromiseSettledResult<TritonConfig | undefined>): Node {
  const box = (...c: (Node | string)[]): HTMLElement => h('div', { 'data-testid': 'ensemble-steps' }, h('h4', {}, 'Ensemble steps'), ...c);
  if (config.status === 'rejected') {
    const e: unknown = config.reason;
    const notServed = e instanceof ApiError && e.status === 404 && /is not served/.test(e.message);
    return box(h('p', { class: notServed ? 'muted small' : 'error small' }, notServed ? 'Not served (version policy): the server does not resolve its steps.' : message(e)));
  }
  const steps = config.value?.ensemble_scheduling?.step ?? [];
  const maps = (m: Record<string, string>, arrow: string): string => Object.entries(m).map(([step, tensor]) => `${step} ${arrow} ${tensor}`).join(', ');
  return box(h('ol', { class: 'steps small' }, steps.map((s) => h('li', { title: `${maps(s.input_map, '←')}; ${maps(s.output_map, '→')}` },
    h('span', { class: 'mono' }, `${s.model_name}:${s.model_version < 0 ? 'latest' : s.model_version}`),
    h('span', { class: 'muted' }, ` (inputs ← ${Object.values(s.input_map).join(', ')}, outputs → ${Object.values(s.output_map).join(', ')})`)))));
}

async function load(root: HTMLElement, name: string, version: number, ensemble: boolean): Promise<void> {
  const [view, meta, config] = await Promise.allSettled([
    api.servingConfig(name, version),
    api.metadata(name, version),
    ensemble ? api.tritonConfig(name, version) : Promise.resolve(undefined),
  ]);
  fill(root, h('h3', {}, 'Serving'),
    view.status === 'fulfilled' ? settingsTable(view.value) : h('p', { class: 'error small' }, message(view.reason)),
    view.status === 'fulfilled' && view.value.problem ? h('p', { class: 'error small' }, `This configuration contradicts itself: ${view.value.problem}.`) : null,
    batchingLine(meta, ensemble),
    ensemble ? stepsList(config) : null);
}

/** The "Serving" section of a served model's details: filled in once the server answers. */
export function servingSection(name: string, version: number, ensemble: boolean): HTMLElement {
  const root = h('div', { class: 'serving', 'data-testid': 'serving-config' }, h('h3', {}, 'Serving'), h('p', { class: 'muted small' }, 'loading…'));
  void load(root, name, version, ensemble);
  return root;
}
