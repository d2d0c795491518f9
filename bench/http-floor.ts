/**
 * The serving bench's floor (bench/serve.ts): a Node HTTP server that does
 * nothing but read each request's body and answer with the bytes in the
 * file it is given (the answer Tessera gave to the same request). Its
 * round trip is what any HTTP server on this machine adds to an inference,
 * before doing any work. Prints `listening on PORT`.
 *
 *   node dist/bench/http-floor.js ANSWER_FILE
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const answer = readFileSync(process.argv[2]!);
const contentType = process.argv[3] ?? 'application/octet-stream';
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': answer.length });
    res.end(answer);
  });
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`listening on ${typeof a === 'object' && a ? a.port : 0}\n`);
});
