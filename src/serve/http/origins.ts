import type { IncomingMessage, ServerResponse } from 'node:http';
import { forbidden, invalid } from '../../errors.js';

/** Methods that only read (RFC 9110 §9.2.1): a page of any origin may send them; the others change state. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a page of an allowed origin may send, and read of the answers (beyond the CORS-safelisted ones). */
const ALLOW_METHODS = 'GET, HEAD, PUT, POST, DELETE';
const ALLOW_HEADERS = 'Authorization, Content-Type, Content-Encoding, Inference-Header-Content-Length, Range, If-Range, If-Match, If-None-Match, X-Request-Id';
const EXPOSE_HEADERS = 'Content-Length, Content-Range, Content-Disposition, Accept-Ranges, ETag, Repr-Digest, Location, Inference-Header-Content-Length, '
  + 'WWW-Authenticate, Retry-After, Allow, X-Tessera-Lossy, X-Request-Id';
/** Seconds a browser may keep a preflight's answer (Chromium keeps at most 7200). */
const MAX_AGE = '600';

/**
 * An --allow-origin value: exactly scheme://host[:port], http or https,
 * nothing after it; returned serialized as browsers send it. Neither "*" nor
 * "null" (every sandboxed frame and file: page is "null").
 */
export function checkAllowOrigin(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  const plain = url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === ''
    && url.pathname === '/' && url.search === '' && url.hash === '' && !value.endsWith('/');
  if (!plain) {
    const why = value === '*' ? '; "*" is not allowed: it would let every page the user visits use this server' : '';
    throw invalid(`--allow-origin "${value}": expected an origin, scheme://host[:port] such as http://localhost:3000, without a path${why}`);
  }
  return url!.origin;
}

/** The origin of `origin` (an Origin header), or undefined when it is none ("null", malformed). */
function originOf(origin: string): URL | undefined {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Which web pages may use the server: its own (the dashboard, at whatever
 * name the Host check let through) and the --allow-origin ones. A page of
 * any other origin may read (a GET is not refused, but its answer carries no
 * CORS header, so the browser keeps it from the page) and may change nothing:
 * a request with another method is refused with 403, and so is one without
 * an Origin that the browser marks as coming from another site
 * (`Sec-Fetch-Site`). Clients that are not browsers (curl, SDKs) send
 * neither header and are not concerned.
 */
export class Origins {
  private readonly allowed: ReadonlySet<string>;

  constructor(allowOrigins: readonly string[]) {
    this.allowed = new Set(allowOrigins.map(checkAllowOrigin));
  }

  /** The page's origin is the server's own: the same host and port as the request's Host (http or https, for a TLS proxy in front). */
  private sameOrigin(req: IncomingMessage, origin: string): boolean {
    const url = originOf(origin);
    const host = req.headers.host;
    if (url === undefined || host === undefined) return false;
    try {
      return new URL(`${url.protocol}//${host}`).host === url.host;
    } catch {
      return false;
    }
  }

  /** The request's Origin when it is one of the --allow-origin ones. */
  private listed(req: IncomingMessage): string | undefined {
    const origin = req.headers.origin;
    return origin !== undefined && this.allowed.has(origin.toLowerCase()) ? origin : undefined;
  }

  private allows(req: IncomingMessage, origin: string): boolean {
    return this.listed(req) !== undefined || this.sameOrigin(req, origin);
  }

  /** Throws 403 for a request that would change state on behalf of a page the server does not trust. */
  check(req: IncomingMessage): void {
    if (SAFE_METHODS.has(req.method ?? 'GET')) return;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (this.allows(req, origin)) return;
      throw forbidden(`a web page at Origin ${JSON.stringify(origin.slice(0, 200))} may not change anything on this server; `
        + 'to let that page in, start the server with --allow-origin ORIGIN');
    }
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      throw forbidden(`a request from another site (Sec-Fetch-Site: ${site}) may not change anything on this server`);
    }
  }

  /**
   * Adds the CORS headers an allowed origin's page needs to read the answer
   * (an error too); with any origin allowed, every answer varies by Origin.
   */
  decorate(req: IncomingMessage, res: ServerResponse): void {
    if (this.allowed.size === 0) return;
    res.setHeader('Vary', 'Origin');
    const origin = this.listed(req);
    if (origin === undefined) return;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
  }

  /** A CORS preflight: OPTIONS with an Origin and Access-Control-Request-Method. */
  isPreflight(req: IncomingMessage): boolean {
    return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
  }

  /**
   * Answers a preflight: 204 with what may be sent for an allowed origin, 403
   * for any other. It needs no token (browsers send none with a preflight),
   * and says the same for every path.
   */
  preflight(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin!;
    if (!this.allows(req, origin)) throw forbidden(`a web page at Origin ${JSON.stringify(origin.slice(0, 200))} may not use this server (start it with --allow-origin ORIGIN to let it in)`);
    res.writeHead(204, {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Methods': ALLOW_METHODS,
      'Access-Control-Allow-Headers': ALLOW_HEADERS,
      'Access-Control-Max-Age': MAX_AGE,
      Vary: 'Origin',
    });
    res.end();
  }
}
