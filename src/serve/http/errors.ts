import type { ErrorKind } from '../../errors.js';
import { TesseraError } from '../../errors.js';

/**
 * The one place an error becomes an HTTP answer: a TesseraError's kind picks
 * the status; anything else is an internal failure (500). The message goes
 * to the client as {"error": message} (without the store's location: publicMessage).
 */
const STATUS: Record<ErrorKind, number> = {
  'invalid': 400,
  'unauthorized': 401,
  'forbidden': 403,
  'not-found': 404,
  'not-allowed': 405,
  'conflict': 409,
  'precondition-failed': 412,
  'too-large': 413,
  'unsupported': 415,
  'misdirected': 421,
  'unavailable': 503,
  'busy': 503,
  'too-many-requests': 429,
  'over-capacity': 507,
  'damaged': 500,
};

/** A method the endpoint does not have: 405 with the methods it does. */
export class NotAllowed extends TesseraError {
  constructor(message: string, readonly allow: string[]) {
    super('not-allowed', message);
  }
}

/** An error whose answer carries headers of its own besides the status (the Hub API's X-Error-Code). */
export class ErrorWithHeaders extends TesseraError {
  constructor(kind: ErrorKind, message: string, readonly headers: Record<string, string>) {
    super(kind, message);
  }
}

export interface ErrorAnswer {
  status: number;
  message: string;
  headers: Record<string, string>;
}

export function statusOf(e: unknown): number {
  return e instanceof TesseraError ? STATUS[e.kind] : 500;
}

/**
 * An error's message as a client may read it. An outside failure of the store
 * (StoreFault, src/backends/errors.ts, which the server cannot import) starts
 * with the store's location, a path or host of the server's machine: it says
 * "the store" instead. The causes are searched too, so a fault wrapped in
 * another message (a model that failed to load) is covered as well.
 */
export function publicMessage(e: unknown): string {
  let message = e instanceof Error ? e.message : String(e);
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    const location: unknown = (c as { storeLocation?: unknown }).storeLocation;
    if (typeof location === 'string' && location !== '') message = message.split(location).join('the store');
  }
  return message;
}

export function answerOf(e: unknown): ErrorAnswer {
  const headers: Record<string, string> = {};
  if (e instanceof NotAllowed) headers.Allow = e.allow.join(', ');
  if (e instanceof ErrorWithHeaders) Object.assign(headers, e.headers);
  if (e instanceof TesseraError && e.kind === 'unauthorized') headers['WWW-Authenticate'] = 'Bearer realm="tessera"';
  // A limit that frees up within moments (connections close, buffers drain): the client may try again after a second.
  if (e instanceof TesseraError && e.kind === 'busy') headers['Retry-After'] = '1';
  return { status: statusOf(e), message: publicMessage(e), headers };
}
