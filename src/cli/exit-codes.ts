import type { ErrorKind } from '../errors.js';
import { kindOf } from '../errors.js';

/**
 * The one place an error becomes the command's exit code, so a script can
 * tell what went wrong without reading the message:
 *
 *   0  success
 *   1  failure: a check found problems (the store is damaged), a failure from
 *      outside (disk full, store locked, database gone), an internal error
 *   2  bad usage or invalid input (arguments, model files, request files)
 *   3  not found (no such model, version, file or store)
 *   4  conflict (exists already with other content, another chunk size; a
 *      failed precondition, which only the server meets)
 *   5  unavailable (a model `tessera repair` marked unavailable)
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, conflict: 4, unavailable: 5 } as const;

const BY_KIND: Record<ErrorKind, number> = {
  'invalid': EXIT.usage,
  'unauthorized': EXIT.usage,
  'forbidden': EXIT.usage,
  'misdirected': EXIT.usage,
  'not-allowed': EXIT.usage,
  'too-large': EXIT.usage,
  'unsupported': EXIT.usage,
  'not-found': EXIT.notFound,
  'conflict': EXIT.conflict,
  'precondition-failed': EXIT.conflict,
  'unavailable': EXIT.unavailable,
  'over-capacity': EXIT.failure,
  // Like a store locked by another process: a failure of the moment.
  'busy': EXIT.failure,
  'too-many-requests': EXIT.failure,
  'damaged': EXIT.failure,
};

export function exitCodeOf(e: unknown): number {
  const kind = kindOf(e);
  return kind === undefined ? EXIT.failure : BY_KIND[kind];
}
