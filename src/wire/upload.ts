/** The answer to an upload (PUT /v2/models/{name}[/versions/{v}]/files/{path}), as the server sends it and the page reads it. */
import type { Savings } from './store-json.js';

export interface UploadResult {
  name: string;
  /** The protocol's versions are strings. */
  version: string;
  /** False: this version already held the same bytes, nothing was stored. */
  created: boolean;
  path: string;
  bytes: number;
  /** Hex. */
  sha256: string;
  note?: string;
  /** Where the file's bytes went (as `tessera show` splits them); servers before it was added leave it out. */
  savings?: Savings;
}
