import type { IncomingMessage } from 'node:http';
import type { ServeOptions } from '../options.js';
import { HostCheck } from './hosts.js';

/** What every request passes before its route: the Host check (DNS rebinding). */
export class Gate {
  private readonly hosts: HostCheck;

  constructor(opts: Pick<ServeOptions, 'host' | 'allowHosts'>) {
    this.hosts = new HostCheck(opts.host, opts.allowHosts);
  }

  /** Throws the refusal (421) of a request that may not reach its route. */
  pass(req: IncomingMessage): void {
    this.hosts.check(req);
  }
}
