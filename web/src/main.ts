/**
 * The dashboard: reads the store's numbers from the server's JSON endpoints
 * (the same the CLI prints with --json) and draws them, one module per panel.
 */
import './style.css';
import { ApiError, api } from './api.js';
import { byId, fill, h } from './dom.js';
import { renderDetail } from './panels/detail.js';
import { renderHeatmap } from './panels/heatmap.js';
import { renderLossy } from './panels/lossy.js';
import { renderModels } from './panels/models.js';
import { renderOverview, renderWhere } from './panels/overview.js';
import { renderTimeline } from './panels/timeline.js';
import { renderTryIt } from './panels/tryit.js';
import { renderUpload } from './panels/upload.js';
import { getToken, setToken } from './token.js';
import type { StoreStats } from '../../src/wire/store-json.js';

let stats: StoreStats | undefined;

const selectedRef = (): string | undefined => {
  const m = /^#model=(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]!) : undefined;
};

/** Opens a model's details (through the URL, so the back button and links work). */
function open(ref: string): void {
  if (selectedRef() === ref) void showDetail(true);
  else location.hash = `model=${encodeURIComponent(ref)}`;
}

function showError(e: unknown): void {
  const banner = byId('banner');
  banner.hidden = false;
  const text = e instanceof Error ? e.message : String(e);
  const token = byId<HTMLInputElement>('token');
  if (e instanceof ApiError && e.needsToken) {
    fill(banner, token.value
      ? 'The server refused this access token: check it in the field at the top right.'
      : 'This server asks for an access token to show its store: enter it in the field at the top right.');
    token.classList.add('attention');
    token.focus();
  } else {
    fill(banner, `Could not read the store: ${text}`);
  }
}

async function showDetail(scroll: boolean): Promise<void> {
  const root = byId('detail');
  const ref = selectedRef();
  // name:version: the version after the last ':'.
  const colon = ref ? ref.lastIndexOf(':') : -1;
  const row = ref && colon > 0 && /^[0-9]+$/.test(ref.slice(colon + 1)) ? { name: ref.slice(0, colon), version: Number(ref.slice(colon + 1)) } : undefined;
  document.querySelectorAll('[data-testid="model-row"]').forEach((tr) => tr.classList.toggle('selected', tr.getAttribute('data-model') === ref));
  if (!ref || !row || !stats) {
    root.hidden = true;
    return;
  }
  root.hidden = false;
  fill(root, h('p', { class: 'muted' }, `reading ${ref}…`));
  if (scroll) root.scrollIntoView({ behavior: 'smooth', block: 'start' });
  try {
    const d = await api.model(row.name, row.version);
    if (selectedRef() !== ref) return;
    renderDetail(root, d, stats.perModel, open, () => { history.replaceState(null, '', location.pathname); void showDetail(false); });
  } catch (e) {
    fill(root, h('p', { class: 'error' }, e instanceof Error ? e.message : String(e)));
  }
}

/** Reads everything again and redraws: on load, after an upload, after the token changes. */
async function refresh(): Promise<void> {
  try {
    const [s, sharing] = await Promise.all([api.stats(), api.sharing()]);
    stats = s;
    byId('banner').hidden = true;
    byId('token').classList.remove('attention');
    byId('store').textContent = `${s.backend} store`;
    renderOverview(byId('overview'), s);
    renderWhere(byId('where'), s);
    renderTimeline(byId('timeline'), s.perModel, s.perModelComplete ? s.perModel.length : s.models);
    renderHeatmap(byId('sharing'), sharing, open);
    await renderModels(byId('models'), api.modelPage, selectedRef, open);
    renderLossy(byId('lossy'), s.perModel, open);
    renderTryIt(byId('tryit'), s.perModel);
    await showDetail(false);
    document.body.dataset.loaded = String(Date.now());
  } catch (e) {
    showError(e);
  }
}

function start(): void {
  const token = byId<HTMLInputElement>('token');
  token.value = getToken();
  token.addEventListener('change', () => {
    setToken(token.value);
    void refresh();
  });
  renderUpload(byId('upload'), (refs) => void refresh().then(() => open(refs[refs.length - 1]!)));
  window.addEventListener('hashchange', () => void showDetail(true));
  void refresh().then(() => { if (selectedRef()) void showDetail(true); });
}

start();
