import type { ServerResponse } from 'node:http';
import type { Cancellation } from '../scheduling/scheduler.js';

/**
 * Aborted when the response closes before it was all sent: the client went
 * away. What an AbortController would do for a request, at a fraction of its
 * cost (the event target and its signal cost ~5% of a batched inference's
 * time on the event loop).
 */
export class ClientGone implements Cancellation {
  aborted = false;
  private listeners: (() => void)[] = [];

  constructor(res: ServerResponse) {
    res.once('close', () => {
      if (res.writableFinished) return;
      this.aborted = true;
      for (const f of this.listeners.splice(0)) f();
    });
  }

  addEventListener(_type: 'abort', fn: () => void): void {
    this.listeners.push(fn);
  }

  removeEventListener(_type: 'abort', fn: () => void): void {
    const i = this.listeners.indexOf(fn);
    if (i >= 0) this.listeners.splice(i, 1);
  }
}
