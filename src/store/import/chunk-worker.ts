import { move } from 'piscina';
import { runChunkTask } from './chunk-task.js';
import type { ChunkTask } from './chunk-task.js';

/** The worker side of ChunkWorkers: runs a task and hands its packed result back by transfer. */
export default function (task: ChunkTask): unknown {
  return move(runChunkTask(task));
}
