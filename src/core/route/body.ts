// Reads a small form or JSON body when the app has not parsed it, so `return_to` works without a body parser.

import type { IncomingMessage } from 'node:http';

/** Sign-out forms are tiny; anything larger is not read at all. */
export const MAX_BODY_BYTES = 16_384;
/** The longest a body read may take; a route's deadline (`timeoutMs`) shortens it. */
export const MAX_BODY_READ_MS = 5000;

function mediaType(req: IncomingMessage): string | undefined {
  return req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
}

function parseForm(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  const params = new URLSearchParams(text);
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    fields[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return fields;
}

/**
 * The request's form or JSON body as an object, or `undefined` when there is none, it is of
 * another type, it is over {@link MAX_BODY_BYTES}, it is malformed, or another middleware has
 * already consumed the stream. Never throws.
 */
export async function readSmallBody(req: IncomingMessage, timeoutMs = MAX_BODY_READ_MS): Promise<unknown> {
  const type = mediaType(req);
  if (type !== 'application/x-www-form-urlencoded' && type !== 'application/json') return undefined;
  if (req.readableDidRead || req.readableEnded || req.destroyed) return undefined;
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > MAX_BODY_BYTES) return undefined;
  const text = await new Promise<string | undefined>((resolve) => {
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
      finish(Buffer.concat(chunks).toString('utf8'));
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
  if (text === undefined) return undefined;
  if (type === 'application/x-www-form-urlencoded') return parseForm(text);
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
