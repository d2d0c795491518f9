import type { IncomingMessage } from 'node:http';
import { invalid } from '../../errors.js';
import { publicOrigin } from '../http/public-origin.js';
import { MAX_PAGE } from '../../wire/store-json.js';

/** Models a listing answers per page unless `limit` says otherwise. */
export const API_PAGE = 1000;
/** Longest `search` text (a name is at most a few hundred bytes). */
const MAX_SEARCH = 256;

/** What a model listing's query asks for (GET /api/store/models, /api/stats/models). */
export interface PageQuery {
  limit: number;
  /** Name order: the page after this model (name:version). */
  after?: string;
  /** Import order, newest first: the page before this model id. */
  before?: number;
  newestFirst?: boolean;
  search?: string;
  format?: string;
}

function text(url: URL, name: string, max: number): string | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return undefined;
  if (v.length > max) throw invalid(`${name}: longer than ${max} characters`);
  return v;
}

/**
 * `limit` (1..MAX_PAGE, default API_PAGE), `after` (a cursor as a `next`
 * gave it), `search`, `format`, `order` (`name`, the default, or `newest`).
 */
export function parsePageQuery(url: URL): PageQuery {
  const limitText = url.searchParams.get('limit');
  let limit = API_PAGE;
  if (limitText !== null) {
    if (!/^[0-9]{1,6}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_PAGE) {
      throw invalid(`limit: expected a whole number from 1 to ${MAX_PAGE}, got ${JSON.stringify(limitText.slice(0, 20))}`);
    }
    limit = Number(limitText);
  }
  const order = url.searchParams.get('order') ?? 'name';
  if (order !== 'name' && order !== 'newest') throw invalid(`order: expected "name" or "newest", got ${JSON.stringify(order.slice(0, 20))}`);
  const after = text(url, 'after', 1024);
  const q: PageQuery = { limit, search: text(url, 'search', MAX_SEARCH), format: text(url, 'format', 64) };
  if (order === 'newest') {
    q.newestFirst = true;
    if (after !== undefined) {
      if (!/^[0-9]{1,15}$/.test(after)) throw invalid('after: in order=newest, pass back the cursor the previous page gave (a model id)');
      q.before = Number(after);
    }
  } else {
    q.after = after;
  }
  return q;
}

/** The Link header (rel="next") to the page after `next` of the same query, or none on the last page. */
export function nextPageHeaders(req: IncomingMessage, url: URL, next: string | null): Record<string, string> {
  if (next === null) return {};
  const link = new URL(url.pathname + url.search, publicOrigin(req));
  link.searchParams.set('after', next);
  return { Link: `<${link.href}>; rel="next"` };
}
