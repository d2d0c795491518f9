import { ApiError, api, fileUrl, modelPath } from '../api.js';
import { fill, h, num } from '../dom.js';
import { bytes, percent } from '../../../src/wire/format.js';
import { plural, when } from '../format.js';
import { savingsBar, savingsSentence } from '../savings.js';
import { authHeaders, getToken } from '../token.js';
import type { ModelDetails, ModelStats } from '../../../src/wire/store-json.js';
import type { TensorSharing } from '../../../src/wire/sharing-json.js';
import { renderLineage } from './lineage.js';
import { servingSection } from './serving.js';
import { lossyBadge, lossyDetail } from './lossy.js';

/** The formats the server runs for inference. */
const SERVED_FORMATS = ['onnx', 'ensemble'];

/** Tensors listed before "show all": a big model has hundreds. */
const FIRST_TENSORS = 25;

/**
 * Saves a model file. Without a token a plain link lets the browser stream
 * it to disk; with one the request must carry the header, so the file is
 * fetched first and handed over as a blob.
 */
async function download(name: string, version: number, path: string, status: HTMLElement): Promise<void> {
  const url = fileUrl(name, version, path);
  const save = (href: string): void => {
    const a = h('a', { href, download: path.split('/').pop() ?? 'model' });
    document.body.append(a);
    a.click();
    a.remove();
  };
  if (!getToken()) return save(url);
  status.textContent = `downloading ${path}…`;
  const r = await fetch(url, { headers: authHeaders() });
  if (!r.ok) throw new ApiError(r.status, `download failed: ${r.status} ${r.statusText}`);
  const blobUrl = URL.createObjectURL(await r.blob());
  save(blobUrl);
  setTimeout(() => URL.revokeObjectURL(blobUrl), 60_000);
  status.textContent = '';
}

/**
 * The model as a Hugging Face repo (names of one or two parts are: the
 * server speaks the Hub's API, src/serve/hub/hub.md), with commands to copy.
 */
function hubSnippet(name: string, version: number): Node {
  if (name.split('/').length > 2) return h('p', { class: 'muted small' }, 'Names of more than two parts are not Hugging Face repos: download the files above.');
  const origin = window.location.origin;
  const text = [
    `# Python (huggingface_hub, transformers): the repo "${name}", revision ${version}`,
    `HF_ENDPOINT=${origin} huggingface-cli download ${name} --revision ${version}`,
    `# JavaScript (@huggingface/hub)`,
    `await snapshotDownload({ repo: '${name}', revision: '${version}', hubUrl: '${origin}' });`,
  ].join('\n');
  return h('div', { class: 'hub-snippet' },
    h('h3', {}, 'From Hugging Face clients'),
    h('p', { class: 'small' }, 'Repo id ', h('code', { 'data-testid': 'hub-repo-id' }, name), `; revision ${version} (or main for the latest).`),
    h('pre', { class: 'mono small', 'data-testid': 'hub-snippet' }, text),
    h('button', { onclick: (e: Event) => { void navigator.clipboard?.writeText(text); (e.target as HTMLElement).textContent = 'copied'; } }, 'Copy'));
}

function sharedWithCell(t: TensorSharing, open: (ref: string) => void): Node {
  // Older servers do not say per tensor: then say nothing rather than "only here".
  if (t.sharedWith === undefined) return h('span', {});
  const others = t.sharedWith;
  if (others.length === 0) return h('span', { class: 'muted' }, 'only here');
  const shown = others.slice(0, 3);
  return h('span', {}, shown.flatMap((o, i) => [i > 0 ? ', ' : '',
    h('a', { href: `#model=${encodeURIComponent(o.model)}`, onclick: (e: Event) => { e.preventDefault(); open(o.model); } }, o.model),
    h('span', { class: 'muted' }, ` ${bytes(o.bytes)}`)]), others.length > 3 ? ` and ${others.length - 3} more` : '');
}

/** Unique vs shared share of a tensor, as a two-part bar. */
function uniqueBar(t: TensorSharing): Node {
  if (t.uniqueBytes === undefined || t.bytes === 0) return h('span', {});
  const unique = Math.min(1, t.uniqueBytes / t.bytes);
  return h('div', { class: 'mini-bar tensor-bar', title: `${bytes(t.uniqueBytes)} only in this model, the rest also in other models` },
    h('span', { class: 'shared', style: `width:${100 * (1 - unique)}%` }), h('span', { class: 'unique', style: `width:${100 * unique}%` }));
}

function tensorTable(tensors: TensorSharing[], all: boolean, open: (ref: string) => void): HTMLElement {
  const sorted = [...tensors].sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1));
  const rows = all ? sorted : sorted.slice(0, FIRST_TENSORS);
  const multiFile = new Set(tensors.map((t) => t.file)).size > 1;
  return h('table', { class: 'tensors', 'data-testid': 'tensor-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'tensor'), h('th', {}, 'type'), h('th', {}, 'shape'), h('th', { class: 'r' }, 'size'),
      h('th', { class: 'r' }, 'only in this model'), h('th', {}, 'shared'), h('th', {}, 'also held by'))),
    h('tbody', {}, rows.map((t) => h('tr', { 'data-testid': 'tensor-row' },
      h('td', { class: 'mono' }, multiFile ? h('span', { class: 'muted' }, `${t.file}: `) : null, t.name || h('span', { class: 'muted' }, '(unnamed)')),
      h('td', {}, t.dtype), h('td', { class: 'mono nowrap' }, `[${t.shape.join(', ')}]`),
      h('td', { class: 'r' }, num(bytes(t.bytes), t.bytes)),
      h('td', { class: 'r' }, t.uniqueBytes === undefined ? '' : num(bytes(t.uniqueBytes), t.uniqueBytes)),
      h('td', {}, uniqueBar(t)),
      h('td', {}, sharedWithCell(t, open))))));
}

/**
 * One model: what it is made of, what it shares with whom, its family, its
 * files to download and its inference metadata. `root` must be in the document.
 */
export function renderDetail(root: HTMLElement, d: ModelDetails, all: ModelStats[], open: (ref: string) => void, close: () => void): void {
  const { name, version } = d.model;
  const shared = d.distinctBytes - d.uniqueBytes;
  const status = h('span', { class: 'muted small' });
  const metaBox = h('pre', { class: 'json', hidden: true, 'data-testid': 'metadata' });
  const lineage = h('div', { class: 'lineage' });
  const tensors = h('div', { class: 'scroll-x' }, tensorTable(d.tensors, false, open));
  const served = SERVED_FORMATS.includes(d.model.format);
  const servable = served && d.model.unavailable === null;

  const showMetadata = async (): Promise<void> => {
    if (!metaBox.hidden) return void (metaBox.hidden = true);
    metaBox.hidden = false;
    metaBox.textContent = 'loading…';
    try {
      metaBox.textContent = JSON.stringify(await api.metadata(name, version), null, 2);
    } catch (e) {
      metaBox.textContent = e instanceof Error ? e.message : String(e);
    }
  };

  fill(root,
    h('div', { class: 'detail-head' },
      h('h2', { 'data-testid': 'detail-title' }, d.ref, ' ', h('span', { class: 'badge' }, d.model.format),
        d.model.unavailable !== null ? h('span', { class: 'badge bad', title: d.model.unavailable }, 'unavailable') : null,
        lossyBadge(d.lossy)),
      h('button', { class: 'link', onclick: close, title: 'close' }, '✕ close')),
    h('p', { class: 'muted' }, `imported ${when(d.model.createdAt)} · ${plural(d.files.length, 'file')} · ${plural(d.tensors.length, 'tensor')}`
      + (d.base ? ` · stored as a delta of ${d.base}` : '')),
    // Before anything else about it: what it lost, and the lossless version it came from.
    d.lossy ? lossyDetail(d.lossy, open) : null,
    h('div', { class: 'detail-grid' },
      h('div', {},
        h('h3', {}, 'What it shares'),
        h('p', { 'data-testid': 'detail-sharing' },
          `Its chunks hold ${bytes(d.distinctBytes)} of distinct data: `,
          h('b', {}, num(bytes(d.uniqueBytes), d.uniqueBytes, 'detail-unique')), ' only in this model, ',
          h('b', {}, num(bytes(shared), shared, 'detail-shared')), ` (${percent(shared, d.distinctBytes)}) also held by other models and stored once.`),
        d.sharedWith.length === 0 ? h('p', { class: 'muted' }, 'It shares nothing with the other models.') : h('ul', { class: 'shared-list', 'data-testid': 'detail-shared-with' },
          d.sharedWith.map((s) => h('li', {},
            h('a', { href: `#model=${encodeURIComponent(s.model)}`, onclick: (e: Event) => { e.preventDefault(); open(s.model); } }, s.model),
            ` ${bytes(s.bytes)}`, h('span', { class: 'muted' }, ` (${percent(s.bytes, d.distinctBytes)} of this model, ${plural(s.chunks, 'chunk')})`)))),
        h('h3', {}, 'When it was imported'),
        savingsBar(d.savings, 'detail-savings-bar'),
        h('p', { class: 'small' }, savingsSentence(d.savings))),
      h('div', {},
        h('h3', {}, 'Family: base → derived'),
        h('p', { class: 'muted small' }, 'A model imported as a fine-tune of another is stored as its difference from that base.'),
        lineage)),
    h('h3', {}, 'Files'),
    h('div', { class: 'files', 'data-testid': 'detail-files' },
      d.files.map((f) => h('div', { class: 'file' },
        h('span', { class: 'mono' }, f.path), h('span', { class: 'muted small' }, ` ${f.format}, ${bytes(f.size)}, sha256 ${f.sha256.slice(0, 12)}…`),
        h('button', {
          'data-testid': 'download', disabled: d.model.unavailable !== null,
          onclick: () => void download(name, version, f.path, status).catch((e: unknown) => { status.textContent = e instanceof Error ? e.message : String(e); }),
        }, '⤓ Download'))),
      h('div', { class: 'file' },
        servable
          ? h('button', { 'data-testid': 'metadata-button', onclick: () => void showMetadata() }, 'Inference metadata')
          : h('span', { class: 'muted small' }, served ? 'Not served while it is unavailable.' : 'Only ONNX models and ensembles are served for inference.'),
        servable ? h('a', { href: `/v2/models/${modelPath(name, version)}`, target: '_blank', class: 'small' }, ' raw JSON ↗') : null,
        status),
      metaBox),
    served ? servingSection(name, version, d.model.format === 'ensemble') : null,
    hubSnippet(name, version),
    h('h3', {}, `Tensors (${d.tensors.length}, largest first)`),
    h('p', { class: 'muted small' }, 'The bar is dark for bytes only this model holds and teal for bytes other models hold too.'),
    tensors,
    d.tensors.length > FIRST_TENSORS
      ? h('button', { class: 'link', onclick: (e: Event) => { fill(tensors, tensorTable(d.tensors, true, open)); (e.target as HTMLElement).remove(); } }, `show all ${d.tensors.length} tensors`)
      : null,
  );
  renderLineage(lineage, all, d.ref, open);
}
