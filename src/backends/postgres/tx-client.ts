import type { PoolClient } from 'pg';

/**
 * The connection a transaction runs on, in pg's pipeline mode: a statement
 * goes out as soon as it is issued, behind those still in flight, without
 * waiting for their answers (the server runs them in order; each has its own
 * Sync, so one that fails fails alone, and the rest then fail with "current
 * transaction is aborted"). A transaction so pays one round trip for BEGIN,
 * its lock and its first statement together, and none for a write whose
 * answer nobody waits for (see Driver.execute). Binary COPY reads are plain
 * pg queries too (see CopyOut in driver.ts), so they pipeline alike.
 *
 * Refuses statements once the transaction is over, and remembers the first
 * one that failed: with several in flight, the one the code awaits first may
 * well be a later one, failing only with "current transaction is aborted";
 * and a write nobody awaits fails the transaction through it (check()).
 */
export class TxClient {
  done = false;
  firstError: unknown;
  /** Settles once every statement issued so far has been answered. */
  private issued: Promise<unknown> = Promise.resolve();
  private corked = false;

  constructor(readonly client: PoolClient) {
    pipelining(client, true);
  }

  /** Sends the one statement fn issues on the connection, at once. */
  run<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    let p: Promise<T>;
    if (this.done) {
      p = Promise.reject(new Error('query after the end of its transaction'));
    } else {
      this.cork();
      p = fn(this.client);
    }
    const settled = p.then(() => {}, () => {});
    const before = this.issued;
    this.issued = before.then(() => settled);
    return p.catch((e: unknown) => {
      this.firstError ??= e;
      throw e;
    });
  }

  /** A statement nobody waits for: its failure is kept (firstError) and fails the transaction. */
  detach(p: Promise<unknown>): void {
    p.catch(() => {});
  }

  /** Throws the first failure of any statement issued so far, once all have been answered. */
  async check(): Promise<void> {
    await this.settled();
    if (this.firstError !== undefined) throw this.firstError;
  }

  /** Resolves once every statement issued so far has been answered. */
  async settled(): Promise<void> {
    await this.issued;
  }

  /** The client as it was: pipelining off, for the pool's next user. */
  release(): void {
    pipelining(this.client, false);
  }

  /**
   * Holds what is sent until the current chain of work yields (process.nextTick
   * runs once the promise jobs queued now have run): writes nobody awaits and
   * the statement awaited after them leave in one write to the socket, not one each.
   */
  private cork(): void {
    if (this.corked) return;
    const stream = this.client.connection.stream;
    stream.cork();
    this.corked = true;
    process.nextTick(() => {
      this.corked = false;
      stream.uncork();
    });
  }
}

/** pg reads the flag each time it sends. */
function pipelining(c: PoolClient, on: boolean): void {
  (c as unknown as { pipeline: boolean }).pipeline = on;
}
