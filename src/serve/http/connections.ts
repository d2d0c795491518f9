import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { busy } from '../../errors.js';

/** How long a connection past the cap has to send its request (to be told 503) before it is closed unanswered. */
const OVER_IDLE_MS = 2000;

/**
 * Caps the connections served at once (--max-connections): each holds a
 * descriptor, a parser and buffers, and keep-alive clients hold theirs while
 * idle. A connection past the cap is still accepted and its request read, so
 * that it can be answered 503 with Retry-After and `Connection: close` (a
 * client learns why, and when to come back, where a refused or reset
 * connection tells it nothing); one that sends nothing is closed after
 * OVER_IDLE_MS.
 */
export class ConnectionCap {
  private served = 0;
  private readonly over = new WeakSet<Socket>();

  constructor(readonly max: number) {}

  /** Connections being served (those past the cap not counted). */
  get open(): number {
    return this.served;
  }

  watch(server: Server): void {
    server.on('connection', (socket: Socket) => {
      if (this.served >= this.max) {
        this.over.add(socket);
        socket.setTimeout(OVER_IDLE_MS, () => socket.destroy());
        return;
      }
      this.served++;
      socket.once('close', () => this.served--);
    });
  }

  /** The connection came in past the cap: its requests are refused, and it is closed after the answer. */
  isOver(socket: Socket): boolean {
    return this.over.has(socket);
  }

  /** Throws 503 for a request on a connection past the cap. */
  check(socket: Socket): void {
    if (this.isOver(socket)) throw busy(`the server is serving ${this.max} connections, its limit (--max-connections); try again in a moment`);
  }
}
