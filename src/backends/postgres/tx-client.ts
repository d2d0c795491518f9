import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';

/**
 * The connection a transaction runs on, in pg's pipeline mode: a statement
 * goes out as soon as it is issued, behind those still in flight, without
 * waiting for their answers (the server runs them in order; each has its own
 * Sync, so one that fails fails alone, and the rest then fail with "current
 * transaction is aborted"). A transaction so pays one round trip for BEGIN,
 * its lock and its first statement together, and none for a write whose
 * answer nobody waits for (see Driver.execute).
 *
 * A COPY cannot share a pipelined connection (pg refuses it: its answer is a
 * stream): exclusive() waits until everything issued before it has been
 * answered, runs it with pipelining off, and holds back what is issued
 * meanwhile until it is done.
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
  /** While a COPY waits for its turn or runs: what later statements wait for. */
  private gate: Promise<void> | undefined;
  private corked = false;

  constructor(readonly client: PoolClient) {
    pipelining(client, true);
  }

  /** One statement, sent at once (or after a COPY issued before it). */
  query<R extends QueryResultRow>(config: QueryConfig | string): Promise<QueryResult<R>> {
    const send = (): Promise<QueryResult<R>> => {
      if (this.done) return Promise.reject(new Error('query after the end of its transaction'));
      this.cork();
      return this.client.query<R>(config as QueryConfig);
    };
    return this.track(this.gate ? this.gate.then(send) : send());
  }

  /** Runs fn alone on the connection, pipelining off (a COPY), after everything issued before it. */
  exclusive<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const result = this.issued.then(async () => {
      if (this.done) throw new Error('query after the end of its transaction');
      pipelining(this.client, false);
      try {
        return await fn(this.client);
      } finally {
        pipelining(this.client, true);
      }
    });
    const gate = result.then(() => {}, () => {});
    this.gate = gate;
    void gate.then(() => {
      if (this.gate === gate) this.gate = undefined;
    });
    return this.track(result);
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

  private track<T>(p: Promise<T>): Promise<T> {
    const settled = p.then(() => {}, () => {});
    const before = this.issued;
    this.issued = before.then(() => settled);
    return p.catch((e: unknown) => {
      this.firstError ??= e;
      throw e;
    });
  }
}

/** pg reads the flag each time it sends: switched only while nothing is in flight. */
function pipelining(c: PoolClient, on: boolean): void {
  (c as unknown as { pipeline: boolean }).pipeline = on;
}
