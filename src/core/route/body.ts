// Reads a small form or JSON body when the app has not parsed it, so `return_to` works without a body parser.

import type { IncomingMessage } from 'node:http';
import { parse } from 'node:querystring';

/** Sign-out forms are tiny; anything larger is not read at all. */
export const MAX_BODY_BYTES = 16_384;
/** Fields of a form body beyond this many are not read. */
const MAX_FORM_FIELDS = 100;
/** The longest a body read may take; a route's deadline (`timeoutMs`) shortens it. */
export const MAX_BODY_READ_MS = 5000;

/** A request body as an adapter hands it to the route: parsed by the app, or read here as text. */
/** A value, or a promise of it where it must be waited for: a sign-out crosses no more async steps than it needs. */
export type MaybePromise<T> = T | Promise<T>;

export type RequestBody = { readonly parsed: unknown } | { readonly type: BodyType; readonly text: string };

type BodyType = 'form' | 'json';

const FORM = 'application/x-www-form-urlencoded';

function bodyType(contentType: string | undefined): BodyType | undefined {
  // What browsers send for a form, matched before anything is split or lower-cased.
  if (contentType === FORM) return 'form';
  const media = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return media === FORM ? 'form' : media === 'application/json' ? 'json' : undefined;
}

/**
 * The request's form or JSON body as text, or `undefined` when there is none, it is of another
 * type, it is over {@link MAX_BODY_BYTES}, it does not arrive within `timeoutMs`, or another
 * middleware has already consumed the stream. Never throws. {@link parseBody} reads it. A body that
 * has all arrived (a browser's form) is answered at once, without a promise.
 */
export function readSmallBody(
  req: IncomingMessage,
  timeoutMs = MAX_BODY_READ_MS,
  headers = req.headers,
): MaybePromise<RequestBody | undefined> {
  const type = bodyType(headers['content-type']);
  if (type === undefined || req.readableDidRead || req.destroyed) return undefined;
  const arrived = arrivedText(req);
  if (arrived !== undefined) return arrived === false ? undefined : { type, text: arrived };
  if (req.readableEnded || Number(headers['content-length'] ?? NaN) > MAX_BODY_BYTES) return undefined;
  return readText(req, timeoutMs).then((text) => (text === undefined ? undefined : { type, text }));
}

/**
 * The body as the app's body parser left it (`req.body`, `ctx.request.body`), or read here: when it
 * left none, or an empty object without reading the stream, as body-parser (Express 4) and
 * @koa/bodyparser do for a type they do not parse.
 */
export function parsedOrRead(
  parsed: unknown,
  req: IncomingMessage,
  timeoutMs: number,
  headers = req.headers,
): MaybePromise<RequestBody | undefined> {
  // Bytes and arrays are never what a parser leaves for a type it did not parse, and counting their
  // keys would cost a string per element.
  const empty =
    parsed !== null &&
    typeof parsed === 'object' &&
    !ArrayBuffer.isView(parsed) &&
    !Array.isArray(parsed) &&
    Object.keys(parsed).length === 0;
  if (parsed !== undefined && !empty) return { parsed };
  const orParsed = (read: RequestBody | undefined): RequestBody | undefined =>
    read ?? (parsed === undefined ? undefined : { parsed });
  const read = readSmallBody(req, timeoutMs, headers);
  return read instanceof Promise ? read.then(orParsed) : orParsed(read);
}

/** The fields of a body read as text, or undefined when it is malformed (or JSON but not an object). */
export function parseBody(body: { readonly type: BodyType; readonly text: string }): object | undefined {
  // node:querystring reads a form as browsers write it ('+' for a space, repeated names as arrays)
  // at a fraction of URLSearchParams' cost; the values are vetted where they are used.
  if (body.type === 'form') return parse(body.text, '&', '=', { maxKeys: MAX_FORM_FIELDS });
  try {
    const parsed = JSON.parse(body.text) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The body as text when it has all arrived (a browser's form, sent with its headers): Node has
 * parsed the whole message and holds the body in the stream's buffer, so it is taken in one read,
 * with no listeners and no timer. `false` when it is over the bound; undefined when it has not all
 * arrived.
 */
function arrivedText(req: IncomingMessage): string | false | undefined {
  if (!req.complete || req.readableFlowing === true) return undefined;
  if (req.readableLength > MAX_BODY_BYTES) return false;
  const all = req.read() as Buffer | string | null;
  if (all === null) return '';
  return typeof all === 'string' ? all : all.toString('utf8');
}

/** The body as text, or undefined when it is over the bound, fails, or does not end in time. */
function readText(req: IncomingMessage, timeoutMs: number): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (value: string | undefined): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Leave the rest unread; Node discards it once the response is sent.
        req.pause();
        finish(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      finish((chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)).toString('utf8'));
    };
    const onError = (): void => {
      finish(undefined);
    };
    const timer = setTimeout(
      () => {
        req.pause();
        finish(undefined);
      },
      Math.min(timeoutMs, MAX_BODY_READ_MS),
    );
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * A Web-standard request's form or JSON body as text, with the bounds of {@link readSmallBody}:
 * `undefined` when there is none, it is of another type, it is over {@link MAX_BODY_BYTES}, it
 * does not arrive within `timeoutMs`, or it has been read already. Never throws.
 */
export function readWebBody(request: Request, timeoutMs = MAX_BODY_READ_MS): Promise<RequestBody | undefined> {
  const type = bodyType(request.headers.get('content-type') ?? undefined);
  const stream = request.body;
  if (type === undefined || stream === null || request.bodyUsed) return Promise.resolve(undefined);
  if (Number(request.headers.get('content-length') ?? NaN) > MAX_BODY_BYTES) return Promise.resolve(undefined);
  return readStream(stream, timeoutMs).then((text) => (text === undefined ? undefined : { type, text }));
}

async function readStream(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<string | undefined> {
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = stream.getReader();
  } catch {
    return undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(
      () => {
        resolve('late');
      },
      Math.min(timeoutMs, MAX_BODY_READ_MS),
    );
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), late]);
      if (next === 'late') return undefined;
      if (next.done) break;
      size += next.value.byteLength;
      if (size > MAX_BODY_BYTES) return undefined;
      chunks.push(next.value);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    // A body left unread (too large, too slow) is cancelled: nothing more of it is wanted. On a
    // body read to its end this does nothing.
    reader.cancel().catch(() => undefined);
  }
}
