import type { IncomingMessage } from 'node:http';

/** A host as a URL may carry it: a name or IPv4 address, or a bracketed IPv6 address, and an optional port. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** The first value of a header that a proxy may have appended to. */
function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0]?.trim() || undefined;
}

/** `name=value` from the first element of a Forwarded header (RFC 7239), unquoted. */
function forwarded(req: IncomingMessage, name: string): string | undefined {
  const element = first(req.headers.forwarded);
  const pair = element?.split(';').map((p) => p.trim().split('=')).find(([k]) => k?.toLowerCase() === name);
  return pair?.[1]?.replace(/^"(.*)"$/, '$1');
}

/**
 * The origin a client reached this server by, for the absolute URLs some
 * answers must hold (the Hub API's next-page links and upload hrefs, which
 * its clients fetch as they are). Behind a reverse proxy that terminates TLS
 * the request arrives as plain HTTP, perhaps with the proxy's own Host: the
 * proxy's Forwarded (RFC 7239) or X-Forwarded-Proto / X-Forwarded-Host say
 * what the client used. Taken as they come: a client that sends false ones
 * only gets URLs of its own making back; anything malformed is ignored.
 */
export function publicOrigin(req: IncomingMessage): string {
  const proto = (forwarded(req, 'proto') ?? first(req.headers['x-forwarded-proto']))?.toLowerCase();
  const hosts = [forwarded(req, 'host'), first(req.headers['x-forwarded-host']), req.headers.host];
  const host = hosts.find((h) => h !== undefined && HOST.test(h)) ?? 'localhost';
  return `${proto === 'https' ? 'https' : 'http'}://${host}`;
}
