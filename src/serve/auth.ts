import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TesseraError, invalid } from '../errors.js';

export interface AuthOptions {
  /** Bearer token for write endpoints (and for reads with `tokenRead`); undefined: no authentication. */
  token?: string;
  /** Reads need the token too. */
  tokenRead?: boolean;
}

export const TOKEN_MIN = 16;
export const TOKEN_MAX = 256;

/**
 * Refuses a token that a client could not send as it is: printable ASCII
 * without spaces (0x21-0x7E: a header carries those unchanged, where a space
 * ends the token and other bytes are read as Latin-1), 16 to 256 of them.
 * The message never shows the token.
 */
export function checkToken(token: string): string {
  if (token.length >= TOKEN_MIN && token.length <= TOKEN_MAX && /^[\x21-\x7e]*$/.test(token)) return token;
  const bad = token.search(/[^\x21-\x7e]/);
  const why = bad >= 0 ? `character ${bad + 1} is a space, a control character or not ASCII` : `it has ${token.length}`;
  throw invalid(`the token (--token or TESSERA_TOKEN) must be ${TOKEN_MIN} to ${TOKEN_MAX} printable ASCII characters without spaces; ${why}`);
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'latin1').digest();

const unauthorized = (message: string): TesseraError => new TesseraError('unauthorized', message);

/** Checks `Authorization: Bearer <token>` in constant time (on digests, so lengths leak nothing either). */
export class Auth {
  private readonly expected?: Buffer;

  constructor(private readonly opts: AuthOptions) {
    if (opts.token !== undefined) this.expected = digest(checkToken(opts.token));
    if (opts.tokenRead && opts.token === undefined) throw invalid('--token-read needs a token (--token or TESSERA_TOKEN)');
  }

  get enabled(): boolean {
    return this.expected !== undefined;
  }

  /** Throws 401 unless the request may proceed. */
  check(req: IncomingMessage, write: boolean): void {
    if (!this.expected || (!write && !this.opts.tokenRead)) return;
    const h = req.headers.authorization;
    if (h === undefined) throw unauthorized(`${write ? 'this request changes the store and' : 'this server'} needs "Authorization: Bearer <token>"`);
    // Node hands header bytes over as Latin-1: anything past ASCII is refused here rather than compared as whatever it decoded to.
    if (!/^[\x20-\x7e\t]*$/.test(h)) throw unauthorized('the Authorization header must be ASCII');
    const m = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(h);
    if (!m) throw unauthorized('expected "Authorization: Bearer <token>"');
    if (!timingSafeEqual(digest(m[1]!), this.expected)) throw unauthorized('wrong token');
  }
}
