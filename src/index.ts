/**
 * Tessera as a library (package.json `main`): the store, the server, the
 * error taxonomy and the JSON shapes. `tessera` (bin/tessera.js) is the same
 * code behind a command line.
 *
 *   import { Store } from 'tessera';
 *   const store = await Store.open('./tessera.db');
 *   await store.import('model.safetensors', { name: 'llama' });
 *   await store.export({ name: 'llama' }, './out.safetensors');
 */
import { Store } from './store/store.js';
import type { ServeOptions } from './serve/options.js';
import type { RunningServer } from './serve/server.js';

export { Store };
export type { CacheStats, CatalogEntry, ExportResult, ModelSummary, StoreImportOptions, StoreOptions } from './store/store.js';
export type { ImportResult } from './store/import/importer.js';
export type { VerifyReport, Problem } from './store/maintain/verify.js';
export type { RepairReport } from './store/maintain/repair.js';
export type { MigrateOptions, MigrateResult } from './store/maintain/migrate.js';
export type { FileRow, ModelRow, SegmentRow } from './backends/backend.js';
export { formatModelRef, parseModelRef } from './store/model-ref.js';
export type { ModelRef } from './store/model-ref.js';
export { TesseraError, kindOf } from './errors.js';
export type { ErrorKind } from './errors.js';
export type { ServeOptions } from './serve/options.js';
export type { RunningServer } from './serve/server.js';
export type * from './wire/store-json.js';
export type * from './wire/sharing-json.js';
export type * from './wire/oip.js';
export type * from './wire/upload.js';
export type { ExampleRequest } from './wire/example.js';
export type { LossyInfo, LossyMetric, SplitFigures } from './wire/lossy.js';

/**
 * Serves a store over the Open Inference Protocol (see README, Serving).
 * Loaded on first use: onnxruntime is not paid for by programs that only store models.
 */
export async function startServer(store: Store, options: Partial<ServeOptions> = {}): Promise<RunningServer> {
  const { startServer: start } = await import('./serve/server.js');
  return start(store, options);
}
