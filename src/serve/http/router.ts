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
  /** Its first two groups are a model's name and (optional) version: the access log names the model. */
  model?: true;
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

/** What a request's path and method find, before anything is decided about it: the route and its handler, either may be missing. */
export interface Lookup {
  route?: Route;
  handler?: MethodHandler;
  /** The path's captured groups, still percent-encoded. */
  groups: (string | undefined)[];
}

function decode(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(`malformed percent-encoding in "${s}"`);
  }
}

/**
 * The first route whose pattern matches the path decides: its method, or 405
 * with the methods it has. Finding (lookup) and refusing (resolve) are apart,
 * so that the server can ask for the token before it tells a client which
 * paths and methods exist.
 */
export class Router {
  private routes: Route[] = [];

  add(route: Route): this {
    this.routes.push(route);
    return this;
  }

  lookup(method: string, path: string): Lookup {
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      return { route, handler: route.methods[method] ?? (method === 'HEAD' ? route.methods.GET : undefined), groups: m.slice(1) };
    }
    return { groups: [] };
  }

  /** lookup and resolve at once, for callers with nothing to decide in between. */
  match(method: string, path: string): Match {
    return this.resolve(this.lookup(method, path), method, path);
  }

  /** The handler found, its parameters decoded: 404 for a path no route takes, 405 for a method its route does not have. */
  resolve(found: Lookup, method: string, path: string): Match {
    const { route, handler } = found;
    if (!route) throw notFound(`no such endpoint: ${method} ${path}`);
    if (!handler) {
      const allowed = Object.keys(route.methods);
      if (allowed.includes('GET')) allowed.push('HEAD');
      throw new NotAllowed(`${method} is not allowed on ${path}; use ${allowed.join(', ')}`, allowed);
    }
    return { route, method: handler, params: found.groups.map(decode) };
  }
}
