import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Auth } from '../auth.js';
import type { ServeOptions } from '../options.js';
import { ConnectionCap } from './connections.js';
import { HostCheck } from './hosts.js';
import { Origins, SAFE_METHODS } from './origins.js';
import type { Lookup, MethodHandler } from './router.js';

/**
 * What every request passes before its route, in this order: the connection
 * cap, the Host check (DNS rebinding), a CORS preflight's answer or the
 * Origin check (state changes from other sites' pages), then the token. Only
 * then does the router say 404 or 405: a client without the token learns
 * nothing of which paths and methods exist.
 */
export class Gate {
  readonly connections: ConnectionCap;
  private readonly hosts: HostCheck;
  private readonly origins: Origins;

  constructor(opts: Pick<ServeOptions, 'host' | 'allowHosts' | 'allowOrigins' | 'maxConnections'>, private readonly auth: Auth) {
    if (!Number.isSafeInteger(opts.maxConnections) || opts.maxConnections < 1) throw new Error(`--max-connections must be a positive number, not ${opts.maxConnections}`);
    this.connections = new ConnectionCap(opts.maxConnections);
    this.hosts = new HostCheck(opts.host, opts.allowHosts);
    this.origins = new Origins(opts.allowOrigins);
  }

  watch(server: Server): void {
    this.connections.watch(server);
  }

  /** The route name for metrics: a preflight is answered here, whatever its path. */
  routeName(req: IncomingMessage, found: Lookup): string {
    return this.origins.isPreflight(req) ? 'preflight' : found.route?.name ?? 'unknown';
  }

  /** The connection closes after this request's answer (it came in past the cap). */
  closes(req: IncomingMessage): boolean {
    return this.connections.isOver(req.socket);
  }

  /** Throws the refusal (503, 421, 403, 401) of a request that may not reach its route; true when it answered the request itself (a preflight). */
  pass(req: IncomingMessage, res: ServerResponse, found: Lookup): boolean {
    this.connections.check(req.socket);
    this.hosts.check(req);
    this.origins.decorate(req, res);
    if (this.origins.isPreflight(req)) {
      this.origins.preflight(req, res);
      return true;
    }
    this.origins.check(req);
    // A method no route has is judged by what it would do: a read or a write.
    const needs: Pick<MethodHandler, 'public' | 'write'> = found.handler ?? { write: !SAFE_METHODS.has(req.method ?? 'GET') };
    if (!needs.public) this.auth.check(req, needs.write === true);
    return false;
  }
}
