import { api, errorText, fileUrl } from '../api.js';
import { fill, h } from '../dom.js';
import { bytes } from '../../../src/wire/format.js';
import { savingsBar, savingsSentence } from '../savings.js';
import { authHeaders } from '../token.js';
import type { Savings } from '../../../src/wire/store-json.js';
import type { UploadResult } from '../../../src/wire/upload.js';

/** A model name from a file name: "Silero VAD v5.onnx" → "Silero-VAD-v5" (the store's name rules: letters, digits, . _ - /). */
export function nameFromFile(file: string): string {
  const stem = file.replace(/\.[^.]+$/, '') || file;
  return stem.replace(/[^A-Za-z0-9._/-]+/g, '-').replace(/\.\.+/g, '.').replace(/^[-.]+|[-.]+$/g, '').slice(0, 200) || 'model';
}

interface Row {
  bar: HTMLElement;
  fillBar: HTMLElement;
  status: HTMLElement;
  report: HTMLElement;
}

function setProgress(row: Row, fraction: number): void {
  const pct = Math.round(100 * fraction);
  row.fillBar.style.width = `${pct}%`;
  row.bar.setAttribute('aria-valuenow', String(pct));
}

/** PUTs one file with XMLHttpRequest, whose upload events (unlike fetch's) report progress. */
function put(url: string, file: File, onProgress: (fraction: number) => void, onSent: () => void): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.lengthComputable && e.total > 0 ? e.loaded / e.total : 0);
    xhr.upload.onload = () => onSent();
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText) as UploadResult);
      else reject(new UploadError(xhr.status, errorText(xhr.status, xhr.statusText, xhr.responseText)));
    };
    xhr.onerror = () => reject(new UploadError(0, 'the connection failed'));
    xhr.send(file);
  });
}

class UploadError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Upload by drag-and-drop or a file picker. Every file becomes a model
 * (named in the field, or after the file); the bar follows the bytes sent,
 * then the server imports it and reports what it saved. `done` gets the
 * refs of the models created, to refresh the page.
 */
export function renderUpload(root: HTMLElement, done: (refs: string[]) => void): void {
  const nameInput = h('input', { type: 'text', placeholder: 'model name (default: the file name)', 'data-testid': 'upload-name', spellcheck: 'false' });
  const picker = h('input', { type: 'file', multiple: true, hidden: true, 'data-testid': 'upload-input' });
  const list = h('div', { class: 'upload-list', 'data-testid': 'upload-list' });
  const zone = h('div', { class: 'dropzone', 'data-testid': 'dropzone', tabindex: 0, role: 'button' },
    h('div', { class: 'dropzone-big' }, 'Drop model files here'),
    h('div', { class: 'muted small' }, 'ONNX, safetensors, GGUF, PyTorch, TFLite, TF.js… or ', h('button', { class: 'link', onclick: () => picker.click() }, 'choose files')));

  const uploadOne = async (file: File, name: string): Promise<string | undefined> => {
    const fillBar = h('span');
    const row: Row = {
      bar: h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0, 'data-testid': 'upload-progress' }, fillBar),
      fillBar, status: h('span', { class: 'muted small', 'data-testid': 'upload-status' }, 'uploading…'), report: h('div', { 'data-testid': 'upload-savings' }),
    };
    list.prepend(h('div', { class: 'upload-item', 'data-testid': 'upload-item' },
      h('div', { class: 'row' }, h('b', {}, name), h('span', { class: 'muted small' }, ` ${file.name}, ${bytes(file.size)}`), row.status), row.bar, row.report));
    try {
      const r = await put(fileUrl(name, undefined, file.name), file,
        (f) => { setProgress(row, f); row.status.textContent = `uploading ${Math.round(100 * f)}%`; },
        () => { setProgress(row, 1); row.status.textContent = 'uploaded; importing (cutting into chunks, deduplicating, compressing)…'; });
      setProgress(row, 1);
      const ref = `${r.name}:${r.version}`;
      // Older servers do not report savings in the upload answer: the model's details have them.
      const savings: Savings = r.savings ?? (await api.model(r.name, Number(r.version))).savings;
      row.bar.classList.add('done');
      fill(row.status, r.created ? 'stored as ' : '', h('a', { href: `#model=${encodeURIComponent(ref)}` }, ref), r.created ? '' : ' already holds this file: nothing stored');
      fill(row.report, savingsBar(savings), h('p', { class: 'small', 'data-testid': 'upload-savings-text' }, savingsSentence(savings)));
      return r.created ? ref : undefined;
    } catch (e) {
      const status = e instanceof UploadError ? e.status : 0;
      row.bar.classList.add('failed');
      row.status.textContent = '';
      fill(row.report, h('p', { class: 'error' }, e instanceof Error ? e.message : String(e),
        status === 401 || status === 403 ? ' — this server needs its access token for uploads: enter it at the top of the page.' : ''));
      return undefined;
    }
  };

  const uploadAll = async (files: File[]): Promise<void> => {
    if (files.length === 0) return;
    const given = nameInput.value.trim();
    const created: string[] = [];
    // One at a time: the server imports them one after another anyway.
    for (const f of files) {
      const ref = await uploadOne(f, given && files.length === 1 ? given : nameFromFile(f.name));
      if (ref) created.push(ref);
    }
    nameInput.value = '';
    if (created.length) done(created);
  };

  const over = (e: DragEvent): void => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    zone.classList.add('over');
  };
  zone.addEventListener('dragenter', over);
  zone.addEventListener('dragover', over);
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    void uploadAll([...(e.dataTransfer?.files ?? [])]);
  });
  zone.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') picker.click(); });
  picker.addEventListener('change', () => {
    void uploadAll([...(picker.files ?? [])]);
    picker.value = '';
  });

  fill(root,
    h('h2', {}, 'Add a model'),
    h('p', { class: 'explain' }, 'Upload a model file: Tessera cuts it into chunks along its tensors, keeps only the chunks it does not have yet, and tells you what it saved. Each file becomes a model.'),
    h('label', { class: 'row' }, 'name ', nameInput), zone, picker, list);
}
