import { prng } from '../helpers/store-fixtures.js';

export type Kind = 'infer-json' | 'infer-binary' | 'download' | 'range';
export const KINDS: readonly Kind[] = ['infer-json', 'infer-binary', 'download', 'range'];

/** One good request and the check of its answer: run() throws when the answer is not the expected one. */
export interface Job {
  kind: Kind;
  /** Model and variant, for failure messages. */
  what: string;
  /** How often it is drawn, relative to the others. */
  weight: number;
  run(): Promise<void>;
}

/** Latencies by kind and every failure, over one or more runs. */
export class LoadStats {
  readonly latencies = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  readonly failures: string[] = [];

  get served(): number {
    let n = 0;
    for (const l of this.latencies.values()) n += l.length;
    return n;
  }

  /** "kind: N served, p50 X ms, p99 Y ms" for each kind, and the whole. */
  summary(): string[] {
    const line = (label: string, ms: number[]): string => {
      const s = [...ms].sort((a, b) => a - b);
      const at = (p: number): string => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1) : '-');
      return `${label}: ${s.length} served, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
    };
    return [...[...this.latencies].map(([k, ms]) => line(k, ms)), line('all', [...this.latencies.values()].flat())];
  }
}

/** `count` jobs drawn by weight, in an order fixed by `seed`. */
export function draw(jobs: readonly Job[], count: number, seed: number): Job[] {
  const total = jobs.reduce((n, j) => n + j.weight, 0);
  const r = prng(seed);
  const out: Job[] = [];
  for (let i = 0; i < count; i++) {
    let x = (r() / 2 ** 32) * total;
    let k = 0;
    while (k < jobs.length - 1 && x >= jobs[k]!.weight) x -= jobs[k++]!.weight;
    out.push(jobs[k]!);
  }
  return out;
}

/** Runs `jobs` with `concurrency` clients, each taking the next job when its last is answered; a failure is recorded, not thrown, so the run goes on. */
export async function runJobs(jobs: readonly Job[], concurrency: number, stats: LoadStats): Promise<void> {
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const t0 = performance.now();
      try {
        await job.run();
        stats.latencies.get(job.kind)!.push(performance.now() - t0);
      } catch (e) {
        // fetch's own message ("fetch failed") says nothing: the cause (reset, closed, refused) is what tells.
        const cause = (e as Error).cause instanceof Error ? ` (${((e as Error).cause as Error).message})` : '';
        stats.failures.push(`${job.kind} ${job.what}: ${(e as Error).message}${cause}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
}
