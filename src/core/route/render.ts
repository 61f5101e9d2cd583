// Default bodies: small self-contained HTML pages for browsers, RFC 9457 problem+json for APIs.

import type { EverywhereReport } from '../everywhere/elsewhere.js';
import type { SignOutError } from '../errors.js';

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** What a page may offer: a link onwards, a button that posts the sign-out again, a link back. */
export interface PageActions {
  /** Signed out: where to go next. */
  readonly continueTo?: string | undefined;
  readonly retry?:
    | {
        /** Undefined: the form posts back to its page's own URL. */
        readonly action: string | undefined;
        readonly returnTo: string | undefined;
        readonly field: string;
      }
    | undefined;
  /** Still signed in: the app's home, to go back to. */
  readonly home?: string | undefined;
  /** Seconds to wait before trying again, said in words. */
  readonly retryAfter?: number | undefined;
}

function waitSentence(seconds: number): string {
  return `You can try again in ${String(seconds)} second${seconds === 1 ? '' : 's'}.`;
}

// No scripts, no external resources, no inline styles: renders under a strict CSP such as helmet's.
export function htmlPage(title: string, detail: string, actions: PageActions): string {
  const parts = [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head>`,
    '<body><main>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${escapeHtml(detail)}</p>`,
  ];
  if (actions.retryAfter !== undefined) parts.push(`<p>${waitSentence(actions.retryAfter)}</p>`);
  if (actions.retry !== undefined) {
    const { action, returnTo, field } = actions.retry;
    parts.push(action === undefined ? '<form method="post">' : `<form method="post" action="${escapeHtml(action)}">`);
    if (returnTo !== undefined) {
      parts.push(`<input type="hidden" name="${escapeHtml(field)}" value="${escapeHtml(returnTo)}">`);
    }
    parts.push('<button type="submit">Try signing out again</button></form>');
  }
  if (actions.continueTo !== undefined) {
    parts.push(`<p><a href="${escapeHtml(actions.continueTo)}">Continue</a></p>`);
  } else if (actions.home !== undefined) {
    parts.push(`<p><a href="${escapeHtml(actions.home)}">Back to the app</a></p>`);
  }
  parts.push('</main></body>', '</html>', '');
  return parts.join('\n');
}

/** The RFC 9457 problem document for an error, with the contract's extension members. */
export function problemJson(
  error: SignOutError,
  typeBase: string,
  redirectTo: string | undefined,
  everywhere?: EverywhereReport,
): string {
  return JSON.stringify({
    type: `${typeBase}${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    signedOut: error.signedOut,
    ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
    ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
    ...(error.signedOut && redirectTo !== undefined ? { redirectTo } : {}),
    ...(everywhere === undefined ? {} : { everywhere }),
  });
}
