import { createHash } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { Rng } from '../../../bench/synth.js';
import { header } from './wire.js';
import type { RawReply, RawRequest } from './wire.js';
import type { HostileCase } from './run.js';
import { ALLOWED_ORIGIN, SCRATCH } from './world.js';
import { AWKWARD_FILE_NAMES } from '../../helpers/hostile-names.js';
import { exactTextCases, framedElements, invalidUtf8Cases, loneSurrogateCases, nulCases } from '../hostile-strings.js';
import type { World } from './world.js';

/**
 * Generators of hostile requests, one per class of hole the probe of issue
 * 14 found, each with the answer a correct server gives. A generator draws
 * its variant from the seeded Rng, so a failing case is reproduced by its
 * seed. The suite (test/serve/hostile.test.ts) runs a sample of every class;
 * the campaign (scripts/hostile.ts) runs 10,000 and more.
 */
export interface Gen {
  world: World;
  rng: Rng;
  /** A number unique to this case (scratch model names). */
  seq: number;
}

type Generator = (g: Gen) => HostileCase;

/** Scratch names per class of legitimate upload (each name always with the same bytes). */
const LEGIT_NAMES = 8;

const ok2xx = (r: RawReply): boolean => r.status >= 200 && r.status < 300;
const refused = (r: RawReply): boolean => r.status >= 400 && r.status < 500;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function hostOf(port: number): string {
  return `127.0.0.1:${port}`;
}

function req(method: string, target: string, host: string, headers: [string, string][] = [], body?: Buffer): RawRequest {
  const h: [string, string][] = [['Host', host], ...headers, ['Connection', 'close']];
  if (body !== undefined) h.push(['Content-Length', String(body.length)]);
  return { method, target, headers: h, body };
}

/** Endpoints that change the store or the server's state, as a page would try them. */
function stateChange(g: Gen, host: string, extra: [string, string][] = []): { what: string; request: RawRequest } {
  const name = `${SCRATCH}-${g.seq}`;
  switch (g.rng.int(4)) {
    case 0:
      return { what: `PUT upload ${name}`, request: req('PUT', `/v2/models/${name}/files/m.bin`, host, extra, Buffer.from('hostile bytes')) };
    case 1:
      return { what: 'DELETE vad:1', request: req('DELETE', '/v2/models/vad/versions/1', host, extra) };
    case 2:
      return { what: 'POST unload vad', request: req('POST', '/v2/repository/models/vad/unload', host, [['Content-Type', 'text/plain'], ...extra], Buffer.from('{}')) };
    default:
      return { what: 'POST load vad', request: req('POST', '/v2/repository/models/vad/load', host, [['Content-Type', 'application/x-www-form-urlencoded'], ...extra], Buffer.from('a=1')) };
  }
}

const HOSTILE_HOSTS = (port: number): string[] => [
  'attacker.example', `attacker.example:${port}`, `127.0.0.1.nip.io:${port}`, `localhost.attacker.example:${port}`,
  `10.0.0.1:${port}`, `[::2]:${port}`, `127.0.0.1@attacker.example:${port}`, `${port}`, 'attacker.example:80', `LOCALHOST.example:${port}`,
];

/** DNS rebinding: a page on attacker.example resolves its name to 127.0.0.1 and talks to the server. */
const host: Generator = (g) => {
  const h = g.rng.pick(HOSTILE_HOSTS(g.world.open.port));
  const { what, request } = stateChange(g, h);
  return {
    cls: 'host', what: `${what} with Host: ${h}`, server: 'open', request,
    check: (r) => (refused(r) && r.status !== 404 ? undefined : `answered ${r.status}; a foreign Host must be refused`),
  };
};

const HOSTILE_ORIGINS = ['https://attacker.example', 'http://attacker.example:8000', 'null', 'http://127.0.0.1.attacker.example', 'http://localhost:1'];

/** A cross-site "simple" request (or a preflight) from a page the user visits. */
const origin: Generator = (g) => {
  const o = g.rng.pick(HOSTILE_ORIGINS);
  const h = hostOf(g.world.open.port);
  if (g.rng.int(4) === 0) {
    const request = req('OPTIONS', '/v2/models/vad/versions/1', h, [['Origin', o], ['Access-Control-Request-Method', 'DELETE']]);
    return {
      cls: 'origin', what: `preflight from ${o}`, server: 'open', request,
      check: (r) => (header(r, 'access-control-allow-methods') ? `preflight from ${o} granted methods ${header(r, 'access-control-allow-methods')}` : undefined),
    };
  }
  const site: [string, string][] = g.rng.int(2) ? [['Origin', o]] : [['Origin', o], ['Sec-Fetch-Site', 'cross-site']];
  const { what, request } = stateChange(g, h, site);
  return {
    cls: 'origin', what: `${what} from Origin: ${o}`, server: 'open', request,
    check: (r) => (r.status === 403 ? undefined : `answered ${r.status}; a cross-origin change must be refused with 403`),
  };
};

const BAD_AUTH = [
  undefined, 'Bearer', 'Bearer ', 'bearer wrong-token-0123456789abcdef', 'Basic dXNlcjpwYXNz', `Bearer ${'x'.repeat(5000)}`,
  'Bearer hostile-campaign-token-012345678', 'Bearer hostile-campaign-token-0123456789X', 'Bearer hostile-campaign-token-0123456789\u00e9',
  'Bearer  hostile campaign token', 'Token hostile-campaign-token-0123456789',
];

/** No token, or a wrong or malformed one, on every kind of endpoint and method of a --token-read server. */
const auth: Generator = (g) => {
  const a = g.rng.pick(BAD_AUTH);
  const h = hostOf(g.world.guarded.port);
  const [method, target] = g.rng.pick([
    ['GET', '/v2/models/vad'], ['GET', '/api/stats'], ['GET', '/v2/models/blob/versions/1/files/blob.bin'], ['POST', '/v2/models/vad/infer'],
    ['DELETE', '/v2/models/vad/versions/1'], ['PATCH', '/v2/models/vad'], ['PUT', '/v2/models/vad'], ['POST', '/api/stats'],
    ['GET', '/metrics'], ['POST', '/v2/repository/index'], ['PUT', `/v2/models/${SCRATCH}-${g.seq}/files/x.bin`],
  ] as const);
  const headers: [string, string][] = a === undefined ? [] : [['Authorization', a]];
  const request = req(method, target, h, headers, method === 'GET' ? undefined : Buffer.from('{}'));
  // Raw bytes: a non-ASCII token goes out as UTF-8, as a browser or a script would send it.
  return {
    cls: 'auth', what: `${method} ${target} with ${a === undefined ? 'no token' : JSON.stringify(a.slice(0, 60))}`, server: 'guarded', request,
    check: (r) => (r.status === 401 && header(r, 'www-authenticate') ? undefined : `answered ${r.status}; must be 401 with WWW-Authenticate before anything else is decided`),
  };
};

/** The BYTES cases of the string tests (hostile-strings.ts): exact text, and what the runtime cannot carry. */
const EXACT = exactTextCases();
const BAD_TEXT = [...loneSurrogateCases(), ...nulCases().map((c) => ({ name: c.name, text: c.bytes.toString('utf8') }))];
const BAD_BYTES = [...invalidUtf8Cases(), ...nulCases()];

function inferRequest(g: Gen, body: Buffer, extra: [string, string][] = []): RawRequest {
  return req('POST', `/v2/models/${g.world.ident}/infer`, hostOf(g.world.open.port), [['Content-Type', 'application/json'], ...extra], body);
}

/** BYTES tensors through JSON and the binary extension: exact, or a 400; never altered with a 200. */
const bytes: Generator = (g) => {
  const binary = g.rng.int(2) === 1;
  const good = g.rng.int(2) === 1;
  if (!binary) {
    const c = good ? g.rng.pick(EXACT) : g.rng.pick(BAD_TEXT);
    const s = c.text;
    // JSON.stringify writes lone surrogates as \ud800 escapes: what a hostile client sends.
    const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'x_BYTES', shape: [1, 1], datatype: 'BYTES', data: [s] }] }));
    return {
      cls: 'bytes', what: `JSON BYTES, ${c.name}`, server: 'open', request: inferRequest(g, body),
      check: (r) => {
        if (!good) return r.status === 400 ? undefined : `answered ${r.status}; a string the runtime cannot carry must be a 400`;
        if (r.status !== 200) return `answered ${r.status} for a valid string`;
        const out = (JSON.parse(r.body.toString('utf8')) as { outputs: { name: string; data: string[] }[] }).outputs.find((o) => o.name === 'y_BYTES');
        return out?.data[0] === s ? undefined : `came back as ${JSON.stringify(out?.data[0])}`;
      },
    };
  }
  const c = good ? (({ name, text }) => ({ name, bytes: Buffer.from(text, 'utf8') }))(g.rng.pick(EXACT)) : g.rng.pick(BAD_BYTES);
  const data = framedElements([c.bytes]);
  const head = Buffer.from(JSON.stringify({
    inputs: [{ name: 'x_BYTES', shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: data.length } }],
    outputs: [{ name: 'y_BYTES', parameters: { binary_data: true } }],
  }));
  const body = Buffer.concat([head, data]);
  return {
    cls: 'bytes', what: `binary BYTES, ${c.name}`, server: 'open',
    request: inferRequest(g, body, [['Inference-Header-Content-Length', String(head.length)]]),
    check: (r) => {
      if (!good) return r.status === 400 ? undefined : `answered ${r.status}; bytes the runtime cannot carry must be a 400`;
      if (r.status !== 200) return `answered ${r.status} for a valid element`;
      const n = Number(header(r, 'inference-header-content-length'));
      const bin = r.body.subarray(n);
      return bin.equals(data) ? undefined : `came back as ${bin.toString('hex')}, sent ${data.toString('hex')}`;
    },
  };
};

/** Uploads with a Content-Encoding: decoded exactly, or refused; never stored encoded. */
const encoding: Generator = (g) => {
  // A few names, each with its own bytes: the first upload of a name creates it, the next ones store nothing new,
  // so a long campaign exercises decoding and the import without growing the store with every request.
  const k = g.rng.int(LEGIT_NAMES);
  const name = `${SCRATCH}-enc-${k}`;
  const plain = Buffer.from(`hostile upload ${k} `.repeat(1 + 37 * k));
  const variants: [string, Buffer, 'ok' | 415 | 400][] = [
    ['gzip', gzipSync(plain), 'ok'], ['br', brotliCompressSync(plain), 'ok'], ['deflate', deflateSync(plain), 'ok'],
    ['identity', plain, 'ok'], ['GZIP', gzipSync(plain), 'ok'], ['compress', plain, 415], ['gzip, br', brotliCompressSync(gzipSync(plain)), 415],
    ['x-unknown', plain, 415], ['gzip', Buffer.concat([gzipSync(plain).subarray(0, 20), Buffer.from('garbage')]), 400],
  ];
  const [enc, body, want] = g.rng.pick(variants);
  const request = req('PUT', `/v2/models/${name}/files/f.bin`, hostOf(g.world.open.port), [['Content-Encoding', enc]], body);
  return {
    cls: 'encoding', what: `PUT with Content-Encoding: ${enc}`, server: 'open', request,
    writes: want === 'ok' ? { model: name, path: 'f.bin', bytes: plain } : undefined,
    check: (r) => {
      if (want === 'ok') {
        if (!ok2xx(r)) return `answered ${r.status}: ${r.body.toString('utf8').slice(0, 160)}`;
        const got = (JSON.parse(r.body.toString('utf8')) as { sha256?: string }).sha256;
        return got === sha(plain) ? undefined : `stored bytes with SHA-256 ${got}, not the decoded upload's`;
      }
      return r.status === want ? undefined : `answered ${r.status}, expected ${want}`;
    },
  };
};

/** Model names and file paths that must be refused before anything is stored. */
const BAD_MODEL_NAMES = ['a%2Ffiles%2Fb', 'x%2Fversions%2F1', 'trail%2F', 'a%2F%2Fb', '%2Flead', 'a%2F..%2Fb', 'x%2Finfer', 'n%2Fready', 'x%00y', '%E2%80%AE', '.hidden'];
const BAD_PATHS = ['a%00b.bin', 'ctl%01.bin', 'del%7F.bin', 'c1%C2%85.bin', 'back%5Cslash.bin', '..%2Fup.bin', 'a%2F.%2Fb.bin', 'a%2F%2Fb.bin', `${'l'.repeat(300)}.bin`, 'x%2F'];

const names: Generator = (g) => {
  const badModel = g.rng.int(2) === 0;
  const model = badModel ? g.rng.pick(BAD_MODEL_NAMES) : `${SCRATCH}-${g.seq}`;
  const path = badModel ? 'ok.bin' : g.rng.pick(BAD_PATHS);
  const request = req('PUT', `/v2/models/${model}/files/${path}`, hostOf(g.world.open.port), [], Buffer.from('named bytes'));
  return {
    cls: 'names', what: `PUT model ${model} file ${path.slice(0, 60)}`, server: 'open', request,
    check: (r) => (r.status === 400 || r.status === 404 ? undefined : `answered ${r.status}; the name must be refused`),
  };
};

/** Range, If-Match and If-None-Match on a download, against what RFC 9110 says the answer is. */
const range: Generator = (g) => {
  const t = g.rng.int(3) === 0 ? g.world.empty : g.world.blob;
  const size = t.bytes.length;
  const etag = `"${sha(t.bytes)}"`;
  const a = g.rng.int(size + 10);
  const b = g.rng.int(size + 10);
  const forms: [string, () => { status: number; start?: number; end?: number }][] = [
    [`bytes=${a}-${b}`, () => (b < a ? { status: 200 } : a >= size ? { status: 416 } : { status: 206, start: a, end: Math.min(b, size - 1) + 1 })],
    [`bytes=${a}-`, () => (a >= size ? { status: 416 } : { status: 206, start: a, end: size })],
    [`bytes=-${b}`, () => (b === 0 || size === 0 ? { status: 416 } : { status: 206, start: Math.max(0, size - b), end: size })],
  ];
  const [range, expect] = g.rng.pick(forms);
  const cond = g.rng.int(4);
  const headers: [string, string][] = [['Range', range]];
  if (cond === 1) headers.push(['If-Match', '"0000"']);
  if (cond === 2) headers.push(['If-Match', etag]);
  const request = req('GET', `/v2/models/${t.model}/versions/1/files/${t.path}`, hostOf(g.world.open.port), headers);
  return {
    cls: 'range', what: `GET ${t.path} (${size} B) Range: ${range}${cond === 1 ? ', If-Match: other' : cond === 2 ? ', If-Match: its ETag' : ''}`, server: 'open', request,
    check: (r) => {
      if (cond === 1) return r.status === 412 ? undefined : `answered ${r.status}; If-Match on another ETag must be 412`;
      const e = expect();
      if (r.status !== e.status) return `answered ${r.status}, expected ${e.status}`;
      if (e.status === 416) return header(r, 'content-range') === `bytes */${size}` ? undefined : `416 with Content-Range ${header(r, 'content-range')}`;
      const want = e.status === 206 ? t.bytes.subarray(e.start, e.end) : t.bytes;
      if (e.status === 206 && header(r, 'content-range') !== `bytes ${e.start}-${e.end! - 1}/${size}`) return `Content-Range ${header(r, 'content-range')}`;
      return r.body.equals(want) ? undefined : `${r.body.length} bytes that differ from the file's`;
    },
  };
};

/** A body over the server's limit: 413, and the connection closed rather than left to a keep-alive client. */
const body: Generator = (g) => {
  const n = 65 * 1024 * 1024 + g.rng.int(1024);
  const request = req('POST', '/v2/models/vad/infer', hostOf(g.world.open.port), [['Content-Type', 'application/json']]);
  request.headers.splice(request.headers.length - 1, 0, ['Content-Length', String(n)]);
  request.body = Buffer.alloc(Math.min(n, 1024 * 1024), 0x20);
  return {
    cls: 'body', what: `infer with Content-Length ${n}`, server: 'open', request, mayCut: true,
    check: (r) => (r.status === 413 && /close/i.test(header(r, 'connection') ?? '') ? undefined : `answered ${r.status} Connection: ${header(r, 'connection')}`),
  };
};

/** The one origin the world allows: a preflight, a read and a change from it all get CORS for that origin alone. */
const cors: Generator = (g) => {
  const h = hostOf(g.world.open.port);
  const o: [string, string] = ['Origin', ALLOWED_ORIGIN];
  const which = g.rng.int(3);
  const k = g.rng.int(LEGIT_NAMES);
  const name = `${SCRATCH}-cors-${k}`;
  const body = Buffer.from(`cors upload ${k}`);
  const request = which === 0
    ? req('OPTIONS', '/v2/models/vad/versions/1/files/vad.onnx', h, [o, ['Access-Control-Request-Method', 'PUT'], ['Access-Control-Request-Headers', 'content-type, authorization']])
    : which === 1 ? req('GET', '/v2/models/vad', h, [o]) : req('PUT', `/v2/models/${name}/files/c.bin`, h, [o], body);
  return {
    cls: 'cors', what: `${request.method} ${request.target} from the allowed origin`, server: 'open', request,
    writes: which === 2 ? { model: name, path: 'c.bin', bytes: body } : undefined,
    check: (r) => {
      if (!ok2xx(r)) return `answered ${r.status} to the allowed origin`;
      if (header(r, 'access-control-allow-origin') !== ALLOWED_ORIGIN) return `Access-Control-Allow-Origin: ${header(r, 'access-control-allow-origin')}`;
      if (!/origin/i.test(header(r, 'vary') ?? '')) return 'no Vary: Origin';
      if (which === 0 && !/PUT/.test(header(r, 'access-control-allow-methods') ?? '')) return `preflight allows ${header(r, 'access-control-allow-methods')}`;
      return undefined;
    },
  };
};

/** Downloads of files whose names need escaping in a header: RFC 6266/8187, ASCII on the wire, the exact name back. */
const disposition: Generator = (g) => {
  const name = g.rng.pick(AWKWARD_FILE_NAMES);
  const request = req('GET', `/v2/models/awkward/versions/1/files/${encodeURIComponent(name)}`, hostOf(g.world.open.port));
  return {
    cls: 'disposition', what: `download of ${JSON.stringify(name)}`, server: 'open', request,
    check: (r) => {
      if (r.status !== 200) return `answered ${r.status}`;
      const cd = header(r, 'content-disposition') ?? '';
      if (!/^[\x20-\x7e]*$/.test(cd)) return `Content-Disposition is not ASCII: ${JSON.stringify(cd)}`;
      const star = /filename\*=UTF-8''([^;]+)/.exec(cd)?.[1];
      const plain = /filename="((?:[^"\\]|\\.)*)"/.exec(cd)?.[1]?.replace(/\\(.)/g, '$1');
      const got = star !== undefined ? decodeURIComponent(star) : plain;
      return got === name ? undefined : `names ${JSON.stringify(got)} in ${cd}`;
    },
  };
};

/** Protocol numbers that are not what they claim: binary_data_size as a string, negative, fractional, huge. */
const numbers: Generator = (g) => {
  const size = g.rng.pick<unknown>(['16', -1, 1.5, 1e20, true, null, '0x10', [16]]);
  const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'x_BYTES', shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: size } }] }));
  const data = framedElements([Buffer.from('0123456789ab')]);
  const request = inferRequest(g, Buffer.concat([head, data]), [['Inference-Header-Content-Length', String(head.length)]]);
  return {
    cls: 'numbers', what: `binary_data_size ${JSON.stringify(size)}`, server: 'open', request,
    check: (r) => (r.status === 400 ? undefined : `answered ${r.status}; binary_data_size must be a non-negative integer number`),
  };
};

/** Requests whose framing is ambiguous (request smuggling) or malformed: refused, never acted on. */
const framing: Generator = (g) => {
  const port = g.world.open.port;
  const target = `/v2/models/${SCRATCH}-${g.seq}/files/s.bin`;
  const variants: [string, string][] = [
    ['two Content-Lengths', `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`],
    ['Content-Length and chunked', `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`],
    ['a bad chunk size', `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`],
    ['a folded header', `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-A: b\r\n c\r\nContent-Length: 5\r\n\r\nhello`],
    ['a NUL in a header', `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-A: b\u0000c\r\nContent-Length: 5\r\n\r\nhello`],
    ['an absolute-form target naming another host', `PUT http://attacker.example${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 5\r\n\r\nhello`],
    ['a space before the colon', `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length : 5\r\n\r\nhello`],
  ];
  const [what, raw] = g.rng.pick(variants);
  return {
    cls: 'framing', what: `PUT with ${what}`, server: 'open', request: { method: 'PUT', target, headers: [] }, raw: Buffer.from(raw, 'latin1'), mayCut: true,
    check: (r) => (r.status >= 400 ? undefined : `answered ${r.status}; an ambiguous or malformed request must be refused`),
  };
};

/** What anyone who can read gets: nothing of the server's machine (the general check looks for its paths). */
const reads: Generator = (g) => {
  const target = g.rng.pick(['/api/stats', '/api/store/models', '/api/sharing', '/api/store/models/vad', '/v2/models', '/v2', '/metrics', '/v2/models/vad/versions/1/files', '/api/store/models/nope', '/v2/models/nope/versions/9/files/x',
    // The Hugging Face Hub API's reads.
    '/api/models', '/api/models/vad', '/api/models/vad/tree/main?recursive=true', '/vad/resolve/main/vad.onnx', '/models/vad/resolve/1/vad.onnx', '/nope/resolve/main/x', '/api/models/vad/revision/9',
    // Serving configurations.
    '/v2/repository/models/vad/config', '/v2/repository/models/vad/versions/1/config', '/v2/repository/models/nope/config', '/v2/models/vad/config']);
  return {
    cls: 'reads', what: `GET ${target}`, server: 'open', request: req('GET', target, hostOf(g.world.open.port)),
    check: (r) => (r.status === 200 || r.status === 404 ? undefined : `answered ${r.status}`),
  };
};

/** Inferences that pass the protocol's checks and fail inside onnxruntime: a 400 each, and the log must not grow with them. */
const runs: Generator = (g) => {
  const body = Buffer.from(JSON.stringify({
    inputs: [
      { name: 'input', shape: [2, 512], datatype: 'FP32', data: new Array<number>(1024).fill(0.01 * g.rng.int(10)) },
      { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array<number>(256).fill(0) },
      { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
    ],
  }));
  const request = req('POST', '/v2/models/vad/infer', hostOf(g.world.open.port), [['Content-Type', 'application/json']], body);
  return {
    cls: 'runs', what: 'an inference onnxruntime fails', server: 'open', request,
    check: (r) => (r.status === 400 ? undefined : `answered ${r.status}`),
  };
};

/** Serving configurations that do not hold: refused with a 400 naming the setting, the stored configuration unchanged (GET reads it back). */
const configs: Generator = (g) => {
  const bodies: [string, string][] = [
    ['a batch size past its bound', '{"max_batch_size": 1e9}'],
    ['a negative queue', '{"max_queue_size": -1}'],
    ['a fractional delay', '{"max_queue_delay_microseconds": 0.5}'],
    ['instances as a string', '{"instances": "2"}'],
    ['an unknown setting', '{"max_batch": 8}'],
    ['a policy of two kinds', '{"version_policy": {"all": true, "latest": 1}}'],
    ['a policy of 100,000 versions', JSON.stringify({ version_policy: { specific: Array.from({ length: 100_000 }, (_, i) => i + 1) } })],
    ['preferred sizes past the max', '{"max_batch_size": 4, "preferred_batch_size": [8]}'],
    ['an array', '[1, 2]'],
    ['nested 10,000 deep', `{"instances": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`],
    ['not JSON', '{"instances": 2'],
  ];
  const [what, body] = g.rng.pick(bodies);
  const target = g.rng.pick(['/v2/repository/models/vad/config', '/v2/repository/models/vad/versions/1/config']);
  return {
    cls: 'configs', what: `PUT config: ${what}`, server: 'open',
    request: req('PUT', target, hostOf(g.world.open.port), [['Content-Type', 'application/json']], Buffer.from(body)),
    check: (r) => (r.status === 400 ? undefined : `answered ${r.status}`),
  };
};

export const GENERATORS: Record<string, Generator> = { host, origin, cors, auth, bytes, numbers, encoding, names, disposition, range, body, framing, reads, runs, configs };
