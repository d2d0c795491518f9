import { authHeaders } from './token.js';
import type { ModelDetails, ModelPage, ModelStats, StoreStats } from '../../src/wire/store-json.js';
import type { OipInferResponse, OipMetadata } from '../../src/wire/oip.js';
import type { SharingMatrix } from '../../src/wire/sharing-json.js';
import type { ServingConfigView } from '../../src/wire/serving-config.js';

export type { ServingConfigView };

/** An ensemble's step in Triton's model configuration (GET /v2/models/{name}/versions/{v}/config). */
export interface TritonEnsembleStep {
  model_name: string;
  /** -1: the latest version the step model's policy serves. */
  model_version: number;
  /** Step model input -> ensemble tensor. */
  input_map: Record<string, string>;
  /** Step model output -> ensemble tensor. */
  output_map: Record<string, string>;
}

/** The part of Triton's model configuration the page reads. */
export interface TritonConfig {
  name: string;
  platform: string;
  ensemble_scheduling?: { step: TritonEnsembleStep[] };
}

/** A failed request, with the server's own explanation (its JSON `error`) when it gave one. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }

  /** The server wants a token (none given, or the wrong one). */
  get needsToken(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/**
 * `name[/versions/v]` for a URL. A '/' in a name is escaped too: the server
 * matches routes on the raw path and decodes the name after, so `%2F` works
 * on /api (whose route takes one segment) as on /v2.
 */
export function modelPath(name: string, version?: number | string): string {
  const n = encodeURIComponent(name);
  return version === undefined ? n : `${n}/versions/${encodeURIComponent(String(version))}`;
}

/** The server's error text from a response body (JSON `{error}`), or the status line. */
export function errorText(status: number, statusText: string, body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && 'error' in parsed && typeof parsed.error === 'string') return parsed.error;
  } catch {
    /* not JSON: fall through */
  }
  return body.trim() || `${status} ${statusText}`;
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const r = await fetch(path, { ...init, headers: { Accept: 'application/json', ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
  const text = await r.text();
  if (!r.ok) throw new ApiError(r.status, errorText(r.status, r.statusText, text));
  return JSON.parse(text) as T;
}

export const api = {
  stats: () => request<StoreStats>('/api/stats'),
  /** A page of per-model rows in name order: after a cursor, names holding `search`. */
  modelPage: (q: { after?: string; search?: string; limit: number }) => request<ModelPage<ModelStats>>(`/api/stats/models?${new URLSearchParams({
    limit: String(q.limit), ...(q.after ? { after: q.after } : {}), ...(q.search ? { search: q.search } : {}),
  }).toString()}`),
  model: (name: string, version: number) => request<ModelDetails>(`/api/store/models/${modelPath(name, version)}`),
  sharing: () => request<SharingMatrix>('/api/sharing'),
  metadata: (name: string, version: number) => request<OipMetadata>(`/v2/models/${modelPath(name, version)}`),
  servingConfig: (name: string, version: number) => request<ServingConfigView>(`/v2/repository/models/${modelPath(name, version)}/config`),
  tritonConfig: (name: string, version: number) => request<TritonConfig>(`/v2/models/${modelPath(name, version)}/config`),
  infer: (name: string, version: number, body: string) => request<OipInferResponse>(`/v2/models/${modelPath(name, version)}/infer`, {
    method: 'POST', body, headers: { 'Content-Type': 'application/json' },
  }),
};

/** The URL of a model file (GET downloads it, PUT uploads it). */
export function fileUrl(name: string, version: number | undefined, path: string): string {
  return `/v2/models/${modelPath(name, version)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}
