// Turns a decision into the answer the adapter writes: a redirect or JSON for the success rows, a
// page or a problem document otherwise, or a typed error to hand on; and the one SignOutResult.

import type { IncomingHttpHeaders } from 'node:http';
import { SignOutError, type SignOutErrorCode } from '../errors.js';
import type { LogoutResult } from '../logout/client.js';
import type { RouteEvents } from './events.js';
import { negotiateFormat, type ResponseFormat } from './negotiate.js';
import { localDecision, type Decision, type UpstreamReport } from './outcomes.js';
import type { ResolvedOptions } from './options.js';
import type { SignOutResult } from './outcomes.js';
import { htmlPage, problemJson, type PageActions } from './render.js';
import type { MaybePromise } from './body.js';
import type { AnswerHeader, SignOutAnswer, SignOutRequest } from './request.js';
import type { EverywhereReport } from '../everywhere/elsewhere.js';

// A content type an app's render function returns must be one a header can carry.
const HEADER_VALUE = /^[\t\x20-\x7e]+$/;

/** What an answer is about, besides its decision. */
export interface AnswerContext {
  readonly headers: AnswerHeader[];
  readonly format: ResponseFormat;
  readonly redirectTo: string;
  readonly upstream: UpstreamReport;
  readonly logout: LogoutResult | undefined;
  readonly cause?: unknown;
  /** Signing out everywhere: what became of the user's other sessions. */
  readonly everywhere?: EverywhereReport | undefined;
}

/** Every answer of the route carries these. */
export function baseHeaders(): AnswerHeader[] {
  return [
    ['cache-control', 'no-store'],
    ['vary', 'Accept'],
  ];
}

function headerRecord(headers: readonly AnswerHeader[]): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const existing = record[name];
    if (existing === undefined) record[name] = name === 'set-cookie' ? [value] : value;
    else record[name] = Array.isArray(existing) ? [...existing, value] : `${existing}, ${value}`;
  }
  return record;
}

/** A hook returned (rather than threw) something the route cannot use. */
export class UnusableHookResult extends Error {
  override readonly name = 'UnusableHookResult';
}

export class Answers<Req> {
  constructor(
    private readonly options: ResolvedOptions<Req>,
    private readonly events: RouteEvents<Req>,
    private readonly hookFailed: (hook: string, error: unknown, instead?: string) => void,
    /** Waits no longer than the route waits for anything (`timeoutMs`). */
    private readonly bounded: <T>(work: T | PromiseLike<T>) => Promise<T>,
  ) {}

  /** The one place a SignOutResult is made. */
  resultOf(decision: Decision, context: AnswerContext, error: SignOutError | undefined): SignOutResult {
    return {
      code: decision.code,
      status: decision.status,
      signedOut: decision.signedOut,
      upstream: context.upstream,
      redirectTo: context.redirectTo,
      format: context.format,
      retryAfter: decision.retryAfter,
      requestId: context.logout?.requestId,
      error,
      everywhere: context.everywhere,
    };
  }

  typedError(decision: Decision, context: AnswerContext, headers?: readonly AnswerHeader[]): SignOutError {
    return new SignOutError(decision.code as SignOutErrorCode, {
      status: decision.status,
      title: decision.title,
      detail: decision.detail,
      signedOut: decision.signedOut,
      retryAfter: decision.retryAfter,
      requestId: context.logout?.requestId,
      upstreamStatus: context.logout?.upstreamStatus,
      cause: context.cause ?? context.logout?.cause,
      headers: headers === undefined ? undefined : headerRecord(headers),
    });
  }

  /** The answer for a decision: at once for the success rows, after the app's `render` otherwise. */
  answer(request: SignOutRequest<Req>, decision: Decision, context: AnswerContext): MaybePromise<SignOutAnswer> {
    if (decision.code === 'signed_out') return this.signedOut(decision, context);
    return this.failure(request, decision, context);
  }

  private async failure(
    request: SignOutRequest<Req>,
    decision: Decision,
    context: AnswerContext,
  ): Promise<SignOutAnswer> {
    const { headers, format, redirectTo, upstream } = context;
    if (decision.retryAfter !== undefined) headers.push(['retry-after', String(decision.retryAfter)]);
    if (this.options.delegateErrors) {
      const error = this.typedError(decision, context, headers);
      return {
        status: error.status,
        headers,
        body: undefined,
        delegate: error,
        result: this.resultOf(decision, context, error),
      };
    }
    const error = this.typedError(decision, context);
    const result = this.resultOf(decision, context, error);
    const kept = !error.signedOut && upstream !== 'not_called' && upstream !== 'skipped';
    const actions: PageActions = {
      continueTo: error.signedOut ? redirectTo : undefined,
      home: this.options.appHome,
      retryAfter: error.retryAfter,
      retry: kept && this.options.methods.has('POST') ? this.retryForm(request, redirectTo) : undefined,
    };
    const [body, contentType] = await this.renderBody(result, request.native, () =>
      format === 'json'
        ? [problemJson(error, this.options.problemTypeBase, redirectTo, context.everywhere), 'application/problem+json']
        : [htmlPage(error.title, error.message, actions), 'text/html; charset=utf-8'],
    );
    headers.push(['content-type', contentType]);
    return { status: error.status, headers, body, delegate: undefined, result };
  }

  private signedOut(decision: Decision, context: AnswerContext): SignOutAnswer {
    const { headers, format, redirectTo, upstream } = context;
    const result = this.resultOf(decision, context, undefined);
    if (format === 'json') {
      headers.push(['content-type', 'application/json; charset=utf-8']);
      const { everywhere } = context;
      const body = JSON.stringify({
        signedOut: true,
        upstream,
        redirectTo,
        ...(everywhere === undefined ? {} : { everywhere }),
      });
      return { status: decision.status, headers, body, delegate: undefined, result };
    }
    // A 303 needs no body: browsers follow it without showing one.
    headers.push(['location', redirectTo]);
    return { status: decision.status, headers, body: undefined, delegate: undefined, result };
  }

  private retryForm(request: SignOutRequest<Req>, redirectTo: string): PageActions['retry'] {
    return {
      // One leading slash: a request-target like `//host/signout` must not become a protocol-relative
      // form action.
      action: request.url === undefined ? undefined : `/${request.url.replace(/^[/\\]+/, '')}`,
      returnTo: redirectTo === this.options.destination ? undefined : redirectTo,
      field: this.options.returnToParam ?? 'return_to',
    };
  }

  private async renderBody(
    result: SignOutResult,
    native: Req,
    fallback: () => [string, string],
  ): Promise<[string, string]> {
    const render = this.options.render;
    if (render === undefined) return fallback();
    try {
      const rendered = await this.bounded(render(result, native));
      if (typeof rendered === 'string') return [rendered, 'text/html; charset=utf-8'];
      if (rendered === undefined) return fallback();
      const { body, contentType } = rendered as { body?: unknown; contentType?: unknown };
      if (typeof body === 'string' && typeof contentType === 'string' && HEADER_VALUE.test(contentType)) {
        return [body, contentType];
      }
      throw new UnusableHookResult(
        'a value that is neither a string, undefined, nor { body, contentType } with strings a response can carry',
      );
    } catch (error) {
      this.hookFailed('render', error, 'the built-in body is sent');
      return fallback();
    }
  }

  /** The answer to a request the route cannot serve as set up: nothing was read, called or changed. */
  misconfigured(code: 'wrong_adapter', detail: string, requestHeaders: IncomingHttpHeaders): SignOutAnswer {
    const format = negotiateFormat(requestHeaders);
    const decision = localDecision(code, detail);
    const context: AnswerContext = {
      headers: baseHeaders(),
      format,
      redirectTo: this.options.destination,
      upstream: 'not_called',
      logout: undefined,
    };
    const error = this.typedError(decision, context);
    const [body, contentType] =
      format === 'json'
        ? [problemJson(error, this.options.problemTypeBase, undefined), 'application/problem+json']
        : [htmlPage(error.title, error.message, { home: this.options.appHome }), 'text/html; charset=utf-8'];
    context.headers.push(['content-type', contentType]);
    this.events.publishError(error);
    const result = this.resultOf(decision, context, error);
    return { status: error.status, headers: context.headers, body, delegate: undefined, result };
  }
}
