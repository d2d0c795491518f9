import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServeOptions } from '../options.js';
import { HostCheck } from './hosts.js';
import { Origins } from './origins.js';

/**
 * What every request passes before its route, in this order: the Host check
 * (DNS rebinding), then a CORS preflight's answer or the Origin check (state
 * changes from other sites' pages).
 */
export class Gate {
  private readonly hosts: HostCheck;
  private readonly origins: Origins;

  constructor(opts: Pick<ServeOptions, 'host' | 'allowHosts' | 'allowOrigins'>) {
    this.hosts = new HostCheck(opts.host, opts.allowHosts);
    this.origins = new Origins(opts.allowOrigins);
  }

  /** Throws the refusal (421, 403) of a request that may not reach its route; true when it answered the request itself (a preflight). */
  pass(req: IncomingMessage, res: ServerResponse): boolean {
    this.hosts.check(req);
    this.origins.decorate(req, res);
    if (this.origins.isPreflight(req)) {
      this.origins.preflight(req, res);
      return true;
    }
    this.origins.check(req);
    return false;
  }
}
