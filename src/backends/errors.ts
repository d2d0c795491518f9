/**
 * Failures a store meets from outside Tessera — a full disk, a lock another
 * process holds, a PostgreSQL server that restarted or cannot be reached —
 * turned into one line that names the store and the cause. The CLI prints an
 * error's first line only (src/cli/main.ts), and the drivers' own words
 * ("database or disk is full", "Connection terminated unexpectedly") name
 * neither the store nor what to do about it.
 *
 * This file holds what both databases share; each one's own faults are in
 * sqlite/errors.ts and postgres/errors.ts.
 */

/**
 * A known outside failure of a store; the driver's error is kept as `cause`
 * (printed with --debug). The message starts with the store's location,
 * kept apart too, so that the server can tell its clients "the store"
 * instead of a path or host of its machine (src/serve/http/errors.ts).
 */
export class StoreFault extends Error {
  constructor(readonly storeLocation: string, text: string, cause: unknown) {
    super(`${storeLocation}: ${text}`, { cause });
    this.name = 'StoreFault';
  }
}

export interface DriverError {
  code?: unknown;
  message?: unknown;
  /** AggregateError (connecting to a name with several addresses) carries its causes here. */
  errors?: unknown;
}

export function codeOf(e: unknown): string {
  const c = (e as DriverError | null)?.code;
  return typeof c === 'string' ? c : '';
}

/** The error's own words, one line (an AggregateError has none of its own: its causes'). */
export function wordsOf(e: unknown): string {
  const err = e as DriverError | null;
  let m = typeof err?.message === 'string' ? err.message : '';
  if (!m && Array.isArray(err?.errors)) m = err.errors.map(wordsOf).filter(Boolean).join('; ');
  return (m || String(e)).split('\n')[0]!;
}

/** Why a file write failed, for the errno codes that mean "no room": undefined for any other error. */
export function noRoomCause(e: unknown): string | undefined {
  switch (codeOf(e)) {
    case 'ENOSPC': return 'disk full (no space left on device)';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'EFBIG': return 'file size limit reached (file too large)';
    default: return undefined;
  }
}

/** An error while opening a store: `fault` when it is a known one, else `e` with the store's location in front (once). */
export function openError(e: unknown, location: string, fault: StoreFault | undefined): unknown {
  if (fault) return fault;
  const err = e as Error | null;
  if (err?.message && !err.message.includes(location)) err.message = `${location}: ${err.message}`;
  return err;
}
