import type { LogKind } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SchedulerEvents } from './scheduler.js';

/** The scheduler's events as the server's metrics (and a log line when a model's batching is switched off). */
export function schedulerMetrics(m: Metrics, log: (kind: LogKind, line: string) => void): SchedulerEvents {
  return {
    dispatched: (model, requests, rows, waited) => {
      m.batchRequests.observe({ model }, requests);
      m.batchRows.observe({ model }, rows);
      for (const w of waited) m.queueWaitSeconds.observe({ model }, w / 1000);
    },
    ran: (model, ms) => m.inferenceSeconds.observe({ model }, ms / 1000),
    rejected: (model) => m.queueRejections.inc({ model }),
    cancelled: (model) => m.requestsCancelled.inc({ model }),
    unbatched: (model, why) => {
      m.batchingDisabled.inc({ model });
      log('inference', `${model}: dynamic batching switched off, requests run one by one: ${why}`);
    },
  };
}
