import { request } from './keep-alive-client.js';

/** The sum of a Prometheus metric's samples whose labels contain `labels`. */
export function metric(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && (m[2] ?? '').includes(labels)) sum += Number(m[3]);
  }
  return sum;
}

/** The server's /metrics text. */
export async function scrape(url: string): Promise<string> {
  const r = await request(`${url}/metrics`);
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return r.body.toString();
}

export const RSS = 'tessera_process_resident_memory_bytes';

/**
 * Samples the server's resident memory and event loop delay every `everyMs`
 * until stopped, each sample tagged with the phase it was taken in. One RSS
 * sample says little: it rises and falls with the garbage the JS heap has not
 * collected yet, so phases are compared by their median (and their largest).
 */
export class RssSampler {
  private samples: { phase: string; rss: number; lag: number }[] = [];
  private phase = '';
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly url: string, private readonly everyMs = 250) {}

  /** Samples from now on belong to `phase`. */
  enter(phase: string): void {
    this.phase = phase;
  }

  start(): void {
    this.running = (async () => {
      while (!this.stopped) {
        const text = await scrape(this.url);
        // The delay histogram starts afresh at each scrape: its max is the longest stall since the last sample.
        this.samples.push({ phase: this.phase, rss: metric(text, RSS), lag: metric(text, 'tessera_nodejs_eventloop_lag_max_seconds') });
        await new Promise((resolve) => setTimeout(resolve, this.everyMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Median and largest RSS of the phases named (0 when none was taken), and the longest event loop stall in seconds. */
  of(...phases: string[]): { median: number; max: number; lag: number } {
    const these = this.samples.filter((s) => phases.includes(s.phase));
    const xs = these.map((s) => s.rss).sort((a, b) => a - b);
    return { median: xs[Math.floor(xs.length / 2)] ?? 0, max: xs[xs.length - 1] ?? 0, lag: Math.max(0, ...these.map((s) => s.lag)) };
  }
}
