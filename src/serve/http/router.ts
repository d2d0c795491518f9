import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalid, notFound } from '../../errors.js';
import { NotAllowed } from './errors.js';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The path's captured groups, percent-decoded. */
  params: (string | undefined)[];
  url: URL;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export interface MethodHandler {
  handler: Handler;
  /** Changes the store or the loaded models: needs the token when the server has one. */
  write?: boolean;
  /** Needs no token even under --token-read (the dashboard's static files, which hold no data). */
  public?: boolean;
}

export interface Route {
  /** A short name for metrics and logs. */
  name: string;
  /** Matched against the raw (still percent-encoded) path. */
  pattern: RegExp;
  /** By method; GET also answers HEAD. */
  methods: Record<string, MethodHandler>;
}

export interface Match {
  route: Route;
  method: MethodHandler;
  params: (string | undefined)[];
}

function decode(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(`malformed percent-encoding in "${s}"`);
  }
}

/** The first route whose pattern matches the path decides: its method, or 405 with the methods it has. */
export class Router {
  private routes: Route[] = [];

  add(route: Route): this {
    this.routes.push(route);
    return this;
  }

  /** The route of a path, for metrics, without raising. */
  routeName(path: string): string {
    return this.routes.find((r) => r.pattern.test(path))?.name ?? 'unknown';
  }

  match(method: string, path: string): Match {
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      const h = route.methods[method] ?? (method === 'HEAD' ? route.methods.GET : undefined);
      if (!h) {
        const allowed = Object.keys(route.methods);
        if (allowed.includes('GET')) allowed.push('HEAD');
        throw new NotAllowed(`${method} is not allowed on ${path}; use ${allowed.join(', ')}`, allowed);
      }
      return { route, method: h, params: m.slice(1).map(decode) };
    }
    throw notFound(`no such endpoint: ${method} ${path}`);
  }
}
