// Builds the app under test for each Express version and session middleware, against a fake portal.

import cookieSession from 'cookie-session';
import express5 from 'express';
import session from 'express-session';
import express4 from 'express4';
import type { Express, NextFunction, Request, Response } from 'express';
import request from 'supertest';
import {
  createLogoutClient,
  ssoSignOut,
  type ExpressSignOutOptions,
  type LogoutClient,
  type LogoutClientOptions,
} from 'sso-signout';

export type SessionKind = 'express-session' | 'cookie-session';

export interface Variant {
  readonly name: string;
  readonly express: typeof express5;
  readonly session: SessionKind;
}

export const VARIANTS: readonly Variant[] = [
  { name: 'Express 5 + express-session', express: express5, session: 'express-session' },
  { name: 'Express 4 + express-session', express: express4, session: 'express-session' },
  { name: 'Express 5 + cookie-session', express: express5, session: 'cookie-session' },
  { name: 'Express 4 + cookie-session', express: express4, session: 'cookie-session' },
];

export const SESSION_COOKIE: Record<SessionKind, string> = {
  'express-session': 'portal.sid',
  'cookie-session': 'portal',
};

type AnyRecord = Record<string, unknown>;
export function sessionOf(req: Request): AnyRecord | null | undefined {
  return (req as unknown as { session?: AnyRecord | null }).session;
}

export interface BuildOptions {
  /** Route options other than the Logout client's. */
  readonly signOut?: Omit<ExpressSignOutOptions<Request>, keyof LogoutClientOptions | 'client'>;
  /** Logout client options; the client is closed by `closeClients()`. */
  readonly client?: Omit<LogoutClientOptions, 'endpoint'>;
  readonly sessionCookie?: Record<string, unknown>;
  readonly beforeRoutes?: (app: Express) => void;
  readonly errorHandler?: (err: unknown, req: Request, res: Response, next: NextFunction) => void;
}

const clients: LogoutClient[] = [];

/** Closes the Logout clients of the apps built so far. */
export async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close()));
}

/** An app with a test sign-in (`POST /test/signin`), `GET /me`, and the route on `/signout`. */
export function buildApp(variant: Variant, endpoint: string, options: BuildOptions = {}): Express {
  const app = variant.express();
  if (variant.session === 'express-session') {
    app.use(
      session({
        name: SESSION_COOKIE['express-session'],
        secret: 'test secret',
        resave: false,
        saveUninitialized: false,
        cookie: { sameSite: 'lax', ...options.sessionCookie },
      }),
    );
  } else {
    app.use(
      cookieSession({
        name: SESSION_COOKIE['cookie-session'],
        keys: ['test key'],
        sameSite: 'lax',
        ...options.sessionCookie,
      }),
    );
  }
  options.beforeRoutes?.(app);
  app.post('/test/signin', variant.express.json({ limit: '2mb' }), (req, res) => {
    const body = req.body as AnyRecord;
    const s = sessionOf(req) as AnyRecord;
    s.sso = body.sso ?? { accessToken: body.accessToken, region: body.region };
    s.user = 'alice';
    res.json({ ok: true });
  });
  app.post('/test/touch', (req, res) => {
    const s = sessionOf(req) as AnyRecord;
    s.user = 'bob';
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => {
    const s = sessionOf(req);
    res.json({ signedIn: s?.sso !== undefined && s.sso !== null });
  });
  const client = createLogoutClient({ endpoint, ...options.client });
  clients.push(client);
  app.all('/signout', ssoSignOut<Request>({ client, destination: '/signed-out', ...options.signOut }));
  if (options.errorHandler !== undefined) app.use(options.errorHandler);
  return app;
}

/** The `Cookie` header value that the Set-Cookie headers of a response establish. */
export function cookieHeaderFrom(res: request.Response): string {
  const set = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  return set.map((c) => c.split(';', 1)[0]).join('; ');
}

/** Signs a user in with `token` and returns the session's Cookie header. */
export async function signIn(app: Express, body: AnyRecord): Promise<string> {
  const res = await request(app).post('/test/signin').send(body).expect(200);
  const cookie = cookieHeaderFrom(res);
  if (cookie === '') throw new Error('sign-in set no cookie');
  return cookie;
}

export async function isSignedIn(app: Express, cookie: string): Promise<boolean> {
  const res = await request(app).get('/me').set('Cookie', cookie).expect(200);
  return (res.body as { signedIn: boolean }).signedIn;
}

/** Applies a response's Set-Cookie headers to a Cookie header, as a browser's jar would. */
export function applySetCookies(cookie: string, res: request.Response): string {
  const jar = new Map(
    cookie
      .split('; ')
      .filter((p) => p !== '')
      .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const),
  );
  for (const line of (res.headers['set-cookie'] as string[] | undefined) ?? []) {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const name = pair.slice(0, pair.indexOf('='));
    const value = pair.slice(pair.indexOf('=') + 1);
    const expired = attrs.some((a) => /^max-age=0$/i.test(a) || /^expires=thu, 01 jan 1970/i.test(a));
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** Parsed Set-Cookie lines of a response, keyed by cookie name. */
export function setCookies(res: request.Response): Map<string, { value: string; attrs: Map<string, string> }> {
  const out = new Map<string, { value: string; attrs: Map<string, string> }>();
  for (const line of (res.headers['set-cookie'] as string[] | undefined) ?? []) {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const attrMap = new Map(
      attrs.map((a) => {
        const i = a.indexOf('=');
        return i === -1 ? [a.toLowerCase(), ''] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
      }),
    );
    out.set(pair.slice(0, pair.indexOf('=')), { value: pair.slice(pair.indexOf('=') + 1), attrs: attrMap });
  }
  return out;
}
