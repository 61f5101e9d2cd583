// Type shims for test-only modules without usable types of their own.
declare module 'express4' {
  import express from 'express';
  export default express;
}

declare module 'cookie-session' {
  import type { RequestHandler } from 'express';
  interface CookieSessionOptions {
    name?: string;
    keys?: string[];
    secret?: string;
    signed?: boolean;
    path?: string;
    domain?: string;
    secure?: boolean;
    httpOnly?: boolean;
    sameSite?: 'lax' | 'strict' | 'none' | boolean;
    partitioned?: boolean;
    maxAge?: number;
  }
  function cookieSession(options: CookieSessionOptions): RequestHandler;
  export default cookieSession;
}

declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}

declare module 'koa-redis' {
  function redisStore(options: { url?: string; [key: string]: unknown }): unknown;
  export default redisStore;
}
