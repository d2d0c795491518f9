import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { exampleOf } from '../../../src/wire/example.js';
import type { ModelStats } from '../../../src/wire/store-json.js';
import type { OipInferResponse, OipTensorMeta } from '../../../src/wire/oip.js';

/** A value of the right type for a datatype, to pre-fill a request. */
function zero(datatype: string): number | string | boolean {
  return datatype === 'BYTES' ? '' : datatype === 'BOOL' ? false : 0;
}

/** A request body for the model's inputs: zeros, dynamic (-1) dimensions as 1. */
export function sampleRequest(inputs: OipTensorMeta[]): string {
  return formatRequest(inputs.map((i) => {
    const shape = i.shape.map((d) => (d < 0 ? 1 : d));
    const count = shape.reduce((a, b) => a * b, 1);
    return { name: i.name, shape, datatype: i.datatype, data: new Array<number | string | boolean>(count).fill(zero(i.datatype)) };
  }));
}

/** One input per line: a long data array does not hide the other inputs. */
function formatRequest(inputs: unknown[]): string {
  return `{"inputs": [\n${inputs.map((i) => `  ${JSON.stringify(i)}`).join(',\n')}\n]}`;
}

const sig = (t: OipTensorMeta): string => `${t.name}: ${t.datatype} [${t.shape.map((d) => (d < 0 ? 'any' : d)).join(', ')}]`;

function preview(data: unknown[], most = 12): string {
  const fmt = (v: unknown): string => (typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(5) : String(v));
  return data.slice(0, most).map(fmt).join(', ') + (data.length > most ? `, … (${data.length} values)` : '');
}

function showOutputs(out: HTMLElement, r: OipInferResponse, ms: number): void {
  fill(out,
    h('p', { class: 'ok small' }, `answered in ${ms.toFixed(0)} ms`),
    h('table', { class: 'outputs', 'data-testid': 'tryit-outputs' },
      h('thead', {}, h('tr', {}, h('th', {}, 'output'), h('th', {}, 'type'), h('th', {}, 'shape'), h('th', {}, 'values'))),
      h('tbody', {}, r.outputs.map((o) => h('tr', {}, h('td', { class: 'mono' }, o.name), h('td', {}, o.datatype), h('td', { class: 'mono nowrap' }, `[${o.shape.join(', ')}]`),
        h('td', { class: 'mono small' }, preview(o.data)))))),
    h('details', {}, h('summary', {}, 'whole response (JSON)'), h('pre', { class: 'json', 'data-testid': 'tryit-raw' }, JSON.stringify(r, null, 1))),
  );
}

/**
 * Sends one inference request: pick an ONNX model or an ensemble, get its inputs from the
 * protocol's metadata, edit the pre-filled JSON body, run it, see the outputs.
 */
export function renderTryIt(root: HTMLElement, models: ModelStats[], preferred?: string): void {
  const servable = models.filter((m) => (m.format === 'onnx' || m.format === 'ensemble') && m.unavailable === null).sort((a, b) => (a.model < b.model ? -1 : 1));
  const select = h('select', { 'data-testid': 'tryit-model' }, servable.map((m) => h('option', { value: m.model }, m.model)));
  const inputs = h('div', { class: 'muted small', 'data-testid': 'tryit-signature' });
  const body = h('textarea', { rows: 8, spellcheck: 'false', 'data-testid': 'tryit-body' });
  const run = h('button', { class: 'primary', 'data-testid': 'tryit-run' }, 'Run inference');
  const out = h('div', { class: 'tryit-out', 'data-testid': 'tryit-result' });
  const pick = (): ModelStats | undefined => servable.find((m) => m.model === select.value);

  let asked = 0;
  const load = async (): Promise<void> => {
    const m = pick();
    if (!m) return;
    const mine = ++asked;
    inputs.textContent = 'reading the model\'s inputs…';
    fill(out);
    try {
      const [meta, details] = await Promise.all([api.metadata(m.name, m.version), api.model(m.name, m.version)]);
      if (mine !== asked) return;
      const stored = exampleOf(details.model.metadataJson)?.inputs;
      const example = Array.isArray(stored) ? stored : undefined;
      fill(inputs, h('div', {}, 'inputs: ', meta.inputs.map(sig).join(' · ')), h('div', {}, 'outputs: ', meta.outputs.map(sig).join(' · ')),
        h('div', { 'data-testid': 'tryit-source' }, example ? 'the request below is the example stored with the model' : 'the request below is zeros in the shapes the model expects'));
      body.value = example ? formatRequest(example) : sampleRequest(meta.inputs);
    } catch (e) {
      if (mine === asked) fill(inputs, h('span', { class: 'error' }, e instanceof Error ? e.message : String(e)));
    }
  };
  run.addEventListener('click', () => void (async () => {
    const m = pick();
    if (!m) return;
    run.disabled = true;
    fill(out, h('p', { class: 'muted' }, `running ${m.model}…`));
    const t0 = performance.now();
    try {
      showOutputs(out, await api.infer(m.name, m.version, body.value), performance.now() - t0);
    } catch (e) {
      fill(out, h('p', { class: 'error', 'data-testid': 'tryit-error' }, e instanceof Error ? e.message : String(e)),
        h('p', { class: 'muted small' }, 'Many models want real data (a longer signal, a valid setting) rather than zeros: edit the request and run it again. `tessera import --example request.json` keeps a working request with a model.'));
    } finally {
      run.disabled = false;
    }
  })());
  select.addEventListener('change', () => void load());

  fill(root,
    h('h2', {}, 'Try it: run a model'),
    h('p', { class: 'explain' }, 'Tessera serves its ONNX models over the Open Inference Protocol, straight from the store. Pick one: the request below is its stored example, or zeros in the shapes it expects. Edit the data and run it.'),
    servable.length === 0 ? h('p', { class: 'empty' }, 'No ONNX model in the store to run.') : [
      h('label', { class: 'row' }, 'model ', select), inputs, body, h('div', { class: 'row' }, run), out],
  );
  if (preferred && servable.some((m) => m.model === preferred)) select.value = preferred;
  void load();
}
