import { move } from 'piscina';
import { runChunkTask } from './chunk-task.js';
import type { ChunkTask } from './chunk-task.js';

/** The worker side of ImportThreads: runs a task; a packed result not in shared memory goes back by transfer. */
export default function (task: ChunkTask): unknown {
  const r = runChunkTask(task);
  return r instanceof Uint8Array ? move(r) : r;
}
