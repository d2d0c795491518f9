import type { ServeContext } from '../context.js';
import { keyOf } from '../catalog.js';
import { unsupported } from '../../errors.js';
import { statusOf } from '../http/errors.js';
import { readBody } from '../http/body.js';
import { bodyCost } from '../http/inflight.js';
import type { Router } from '../http/router.js';
import { sendBuffers } from '../http/respond.js';
import { HEADER_LENGTH, splitRequestBody } from '../oip/binary-extension.js';
import { encodeInferResponse, parseInferRequest } from '../oip/infer.js';
import { parseJsonBody } from '../oip/json-limits.js';
import { MODEL } from './models.js';
import { findInferable } from './lookup.js';
import { RunFailed } from '../runtime/onnx-runtime.js';
import { ClientGone } from '../http/client-gone.js';

export function inferRoutes(router: Router, ctx: ServeContext): void {
  router.add({
    name: 'infer', model: true, pattern: new RegExp(`^${MODEL}\\/infer$`),
    methods: {
      POST: {
        handler: async ({ req, res, params }) => {
          const v = await findInferable(ctx, params[0], params[1]);
          const key = keyOf(v.model);
          // Counted against --max-inflight by what it will hold: its JSON part (the header's length, or all of it) more than its binary data.
          const declaredJson = Number(req.headers[HEADER_LENGTH] ?? Number.NaN);
          const hold = ctx.inflight.holdFor(res);
          const body = await readBody(req, ctx.opts.maxBodyBytes, (n) => hold.reserve(bodyCost(n, Number.isSafeInteger(declaredJson) ? declaredJson : n)));
          if (req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity') {
            throw unsupported(`Content-Encoding ${req.headers['content-encoding']} is not supported; send the body uncompressed`);
          }
          const { json, binary } = splitRequestBody(body, req.headers[HEADER_LENGTH]);
          const parsed = parseJsonBody(json, ctx.opts.maxJsonDepth);
          // A client that disconnects while its request waits in a queue takes it out of the queue.
          const gone = new ClientGone(res);
          try {
            const { request, outputs } = await ctx.inference.infer(v, (sig) => parseInferRequest(parsed, binary, sig), gone);
            const r = encodeInferResponse(v.model, request, outputs);
            const headers: Record<string, string> = { 'Content-Type': r.contentType };
            if (r.headerLength !== undefined) headers['Inference-Header-Content-Length'] = String(r.headerLength);
            ctx.metrics.inferences.inc({ model: key, status: '200' });
            sendBuffers(res, 200, headers, r.body, r.length);
          } catch (e) {
            ctx.metrics.inferences.inc({ model: key, status: gone.aborted ? 'cancelled' : String(statusOf(e)) });
            // onnxruntime prints nothing itself (runtime/onnx-runtime.ts); what a failed run said is kept here.
            if (e instanceof RunFailed) ctx.log('inference', `${key}: ${e.message}`);
            throw e;
          }
        },
      },
    },
  });
}
