import { move } from 'piscina';
import { runChunkTask } from './chunk-task.js';
import type { ChunkTask } from './chunk-task.js';

/** The worker side of ImportThreads: runs a task; its result goes back by transfer (with the task's `out`, if it used it). */
export default function (task: ChunkTask): unknown {
  return move(runChunkTask(task));
}
