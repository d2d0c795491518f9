/**
 * Serializes the server's writes to the store (imports, removals): SQLite
 * takes one writer, and an import's transaction spans many awaits. Readers
 * that must not see a write half done wait for `idle()`.
 */
export class WriteLock {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  get busy(): boolean {
    return this.pending > 0;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(fn);
    this.tail = result.then(() => {}, () => {}).finally(() => {
      this.pending--;
    });
    return result;
  }

  /** Resolves when no write is running or queued. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}
