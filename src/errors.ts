/**
 * The kinds of failure Tessera reports, the same whichever door a request
 * came through. Code anywhere (store, readers, server) throws a TesseraError
 * of the kind that fits; the CLI turns the kind into an exit code
 * (src/cli/exit-codes.ts) and the server into an HTTP status
 * (src/serve/http/errors.ts), each in that one place. Any other error is an
 * internal failure (exit code 1, HTTP 500), as is a failure from outside
 * (disk full, a lost database: src/backends/errors.ts).
 */
export type ErrorKind =
  /** Bad input: an argument, a request, a model file or a name that cannot be right. */
  | 'invalid'
  /** No token, or the wrong one. */
  | 'unauthorized'
  /** Refused whatever the token: a request from a web page of another origin that would change state. */
  | 'forbidden'
  /** Addressed to a name this server does not answer for (a `Host` that is not its own: DNS rebinding). */
  | 'misdirected'
  /** No such model, version, file or endpoint. */
  | 'not-found'
  /** The method does not apply to the endpoint. */
  | 'not-allowed'
  /** Exists already with other content; would contradict what is stored. */
  | 'conflict'
  /** A condition the request set on the stored state (If-Match, If-None-Match) does not hold. */
  | 'precondition-failed'
  /** Past a size limit. */
  | 'too-large'
  /** Well-formed, but not something Tessera does (a content encoding, a model it cannot serve). */
  | 'unsupported'
  /** Stored, but must not be handed out: `tessera repair` marked it unavailable. */
  | 'unavailable'
  /** More than the server can hold at once (a model bigger than the memory budget). */
  | 'over-capacity'
  /** At a limit for now (connections, bytes in flight): the same request may succeed a moment later. */
  | 'busy'
  /** A model's queue is full (its max_queue_size): the client should slow down (429, Retry-After). */
  | 'too-many-requests'
  /** Stored bytes are wrong or missing: a check failed (the store is damaged). */
  | 'damaged';

export class TesseraError extends Error {
  constructor(readonly kind: ErrorKind, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'TesseraError';
  }
}

export const invalid = (message: string): TesseraError => new TesseraError('invalid', message);
export const notFound = (message: string): TesseraError => new TesseraError('not-found', message);
export const conflict = (message: string): TesseraError => new TesseraError('conflict', message);
export const preconditionFailed = (message: string): TesseraError => new TesseraError('precondition-failed', message);
export const tooLarge = (message: string): TesseraError => new TesseraError('too-large', message);
export const unsupported = (message: string): TesseraError => new TesseraError('unsupported', message);
export const unavailable = (message: string): TesseraError => new TesseraError('unavailable', message);
export const forbidden = (message: string): TesseraError => new TesseraError('forbidden', message);
export const misdirected = (message: string): TesseraError => new TesseraError('misdirected', message);
export const busy = (message: string): TesseraError => new TesseraError('busy', message);
export const damaged = (message: string, cause?: unknown): TesseraError => new TesseraError('damaged', message, { cause });

/** The kind of an error, or undefined for an internal one. */
export function kindOf(e: unknown): ErrorKind | undefined {
  return e instanceof TesseraError ? e.kind : undefined;
}
