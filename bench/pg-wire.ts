import pg from 'pg';

/**
 * What this process sends PostgreSQL, counted on pg's client: statements, and
 * round trips — a statement sent while its connection had nothing else in
 * flight is one the caller waits a whole round trip for; one sent behind
 * others on a pipelined connection (a transaction's: see
 * src/backends/postgres/tx-client.ts) rides along with them. COPY streams
 * count as statements too.
 */
export interface WireCount {
  statements: number;
  roundTrips: number;
}

export const wire: WireCount = { statements: 0, roundTrips: 0 };

let installed = false;

/** Starts counting (once per process; every pg client of the process counts into `wire`). */
export function countWire(): WireCount {
  if (installed) return wire;
  installed = true;
  const inFlight = new WeakMap<object, number>();
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    wire.statements++;
    const n = inFlight.get(this) ?? 0;
    if (n === 0 || !(this as unknown as { pipeline?: boolean }).pipeline) wire.roundTrips++;
    inFlight.set(this, n + 1);
    let counted = false;
    const done = (): void => {
      if (counted) return;
      counted = true;
      inFlight.set(this, (inFlight.get(this) ?? 1) - 1);
    };
    const r = query.apply(this, args);
    if (r instanceof Promise) {
      r.then(done, done);
    } else if (r && typeof (r as NodeJS.EventEmitter).on === 'function') {
      // A stream (COPY): answered once it ends, fails or closes.
      for (const ev of ['end', 'finish', 'error', 'close']) (r as NodeJS.EventEmitter).on(ev, done);
    } else {
      done();
    }
    return r;
  } as typeof pg.Client.prototype.query;
  return wire;
}

/** What `fn` sent. */
export async function wireOf<T>(fn: () => Promise<T>): Promise<{ value: T; wire: WireCount }> {
  countWire();
  const before = { ...wire };
  const value = await fn();
  return { value, wire: { statements: wire.statements - before.statements, roundTrips: wire.roundTrips - before.roundTrips } };
}
