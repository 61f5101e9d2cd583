// Chooses between the browser answers (redirect, HTML) and the JSON answers.

import type { IncomingHttpHeaders } from 'node:http';
import { lazyDependency } from '../lazy-require.js';

// Loaded on the first request that names an Accept header, not on import.
const negotiator = lazyDependency('negotiator');

export type ResponseFormat = 'html' | 'json';

// HTML first, so `*/*` and a missing Accept (forms, plain links, curl) get the browser answers.
const OFFERED = ['text/html', 'application/json', 'application/problem+json'];

/** `json` when the client's `Accept` prefers JSON over HTML, otherwise `html`. */
export function negotiateFormat(headers: IncomingHttpHeaders): ResponseFormat {
  if (headers.accept === undefined) return 'html';
  const Negotiator = negotiator();
  const best = new Negotiator({ headers }).mediaType(OFFERED);
  return best === 'application/json' || best === 'application/problem+json' ? 'json' : 'html';
}
