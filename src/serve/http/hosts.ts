import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { invalid, misdirected } from '../../errors.js';

/** 127.0.0.0/8, ::1, localhost (and ::ffff:127.x). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

/** The addresses that mean "every interface" to listen(). */
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * The name a Host header gives, lower-cased and without its port or a
 * trailing dot ("[::1]:8000" → "::1"); undefined for anything that is not a
 * plain name, an IPv4 address or a bracketed IPv6 one, with an optional port
 * (userinfo, spaces, a second colon: no browser sends those).
 */
export function hostName(header: string): string | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::[0-9]{1,5})?$/.exec(header);
  if (!m) return undefined;
  if (m[1] !== undefined) return isIP(m[1]) === 6 ? m[1].toLowerCase() : undefined;
  const name = m[2]!.toLowerCase().replace(/\.$/, '');
  return name === '' ? undefined : name;
}

/** An --allow-host value as the names are compared: a host name or an IP address, no scheme, no port. */
export function checkAllowHost(value: string): string {
  const bare = isIP(value) === 6 ? `[${value}]` : value;
  const name = hostName(bare);
  if (name === undefined || /:[0-9]+$/.test(bare)) {
    throw invalid(`--allow-host "${value}": expected a host name or an IP address, without a scheme or a port (such as models.internal or 10.0.0.5)`);
  }
  return name;
}

/** The local addresses a server listening on every interface can be reached at (those it has at start). */
function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.toLowerCase()));
}

/**
 * Answers only requests addressed to this server by a name it knows: a
 * loopback address, the address it listens on (every local address when that
 * is a wildcard) and the --allow-host names. A page on attacker.example that
 * has its name resolve to 127.0.0.1 (DNS rebinding) is then refused, since
 * its browser sends `Host: attacker.example`; the port is not checked (a
 * rebound name is fetched at the server's own port anyway, and a proxy or a
 * port mapping may change it). A request without a Host header (HTTP/1.0;
 * Node refuses one over HTTP/1.1) names nothing a page could have chosen.
 */
export class HostCheck {
  private readonly names: Set<string>;

  constructor(listenHost: string, allowHosts: readonly string[]) {
    this.names = new Set(allowHosts.map(checkAllowHost));
    const listen = listenHost.replace(/^\[|\]$/g, '').toLowerCase();
    if (WILDCARDS.has(listen)) for (const a of localAddresses()) this.names.add(a);
    else this.names.add(listen);
  }

  allows(name: string): boolean {
    return isLoopback(name) || this.names.has(name);
  }

  /** Throws 421 unless the request's Host names this server. */
  check(req: IncomingMessage): void {
    const header = req.headers.host;
    if (header === undefined) return;
    const name = hostName(header);
    if (name !== undefined && this.allows(name)) return;
    const shown = JSON.stringify(header.slice(0, 100));
    throw misdirected(`this server does not answer for Host ${shown} (only loopback addresses, its --host and the --allow-host names); `
      + 'if that is its name, start it with --allow-host NAME');
  }
}
