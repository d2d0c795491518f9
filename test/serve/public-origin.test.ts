/**
 * The origin the Hub API puts into absolute URLs (next-page links, LFS upload
 * hrefs): what the client used, as a TLS-terminating proxy reports it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { publicOrigin } from '../../src/serve/http/public-origin.js';

const req = (headers: Record<string, string | string[]>): IncomingMessage => ({ headers } as unknown as IncomingMessage);

test('publicOrigin: Host alone; a proxy\'s Forwarded or X-Forwarded-* first; malformed values ignored', () => {
  assert.equal(publicOrigin(req({ host: '127.0.0.1:8000' })), 'http://127.0.0.1:8000');
  assert.equal(publicOrigin(req({})), 'http://localhost');
  assert.equal(publicOrigin(req({ host: '127.0.0.1:8000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hub.example.com' })), 'https://hub.example.com');
  assert.equal(publicOrigin(req({ host: '127.0.0.1:8000', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'a.example, b.example' })), 'https://a.example');
  assert.equal(publicOrigin(req({ host: '127.0.0.1:8000', forwarded: 'for=1.2.3.4;proto=https;host="hub.example.com:8443", for=5.6.7.8' })), 'https://hub.example.com:8443');
  assert.equal(publicOrigin(req({ host: '[::1]:8000' })), 'http://[::1]:8000');
  // Only http and https; a host with a path, userinfo or spaces is no host.
  assert.equal(publicOrigin(req({ host: 'h:1', 'x-forwarded-proto': 'javascript' })), 'http://h:1');
  for (const bad of ['evil.example/x', 'user@evil.example', 'a b', '']) {
    assert.equal(publicOrigin(req({ host: 'h:1', 'x-forwarded-host': bad })), 'http://h:1', bad);
  }
});
