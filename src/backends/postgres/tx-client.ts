import type { PoolClient } from 'pg';

/**
 * The connection a transaction runs on. Refuses queries once the transaction
 * is over, and remembers the first query that failed: an import has several
 * queries in flight, and after a deadlock the one its code awaits first may
 * well be a later one, failing only with "current transaction is aborted".
 */
export class TxClient {
  done = false;
  firstError: unknown;
  /** Queries run one after the other (the import pipelines its calls; pg@8 deprecates queuing them on a busy client). */
  private tail: Promise<unknown> = Promise.resolve();
  constructor(readonly client: PoolClient) {}
  run<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => {
      if (this.done) throw new Error('query after the end of its transaction');
      return fn(this.client);
    });
    this.tail = result.catch(() => {});
    return result.catch((e: unknown) => {
      this.firstError ??= e;
      throw e;
    });
  }
  /** Resolves once every query queued so far has finished. */
  async settled(): Promise<void> {
    await this.tail;
  }
}
