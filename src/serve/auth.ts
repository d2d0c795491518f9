import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TesseraError } from '../errors.js';

export interface AuthOptions {
  /** Bearer token for write endpoints (and for reads with `tokenRead`); undefined: no authentication. */
  token?: string;
  /** Reads need the token too. */
  tokenRead?: boolean;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Checks `Authorization: Bearer <token>` in constant time (on digests, so lengths leak nothing either). */
export class Auth {
  private readonly expected?: Buffer;

  constructor(private readonly opts: AuthOptions) {
    if (opts.token !== undefined) {
      if (opts.token.length < 8) throw new Error('the token must be at least 8 characters');
      this.expected = digest(opts.token);
    }
    if (opts.tokenRead && opts.token === undefined) throw new Error('--token-read needs a token (--token or TESSERA_TOKEN)');
  }

  get enabled(): boolean {
    return this.expected !== undefined;
  }

  /** Throws 401 unless the request may proceed. */
  check(req: IncomingMessage, write: boolean): void {
    if (!this.expected || (!write && !this.opts.tokenRead)) return;
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (!m) throw new TesseraError('unauthorized', `${write ? 'this endpoint changes the store and' : 'this server'} needs "Authorization: Bearer <token>"`);
    if (!timingSafeEqual(digest(m[1]!), this.expected)) throw new TesseraError('unauthorized', 'wrong token');
  }
}
