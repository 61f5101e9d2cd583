// What the route tells about itself: events to `onEvent` and the `sso-signout:event` channel, typed
// errors to `sso-signout:error`. It writes no logs of its own.

import { channel } from 'node:diagnostics_channel';
import type { SignOutError } from '../errors.js';
import type { LogoutResult } from '../logout/client.js';
import { printable } from '../scrub.js';
import { isThenable } from '../validate.js';
import type { UpstreamReport, SignOutResult } from './outcomes.js';
import type { ReturnToRejection } from './return-to.js';
import type { EverywhereReport } from '../everywhere/elsewhere.js';

/**
 * What the event hook hears. None of it contains the token; every string is escaped (no raw control
 * characters) and cut to 200 characters, so an event can go to a text log as it is.
 */
export type SignOutEvent =
  | {
      readonly type: 'signout';
      readonly code: SignOutResult['code'];
      readonly status: number;
      readonly signedOut: boolean;
      readonly upstream: UpstreamReport;
      readonly upstreamStatus: number | undefined;
      readonly errorName: string | undefined;
      /** Why a call got no answer, or was not made: `connection_error`, `proxy_refused`, `deadline`, `throttle_gate`, … */
      readonly reason: string | undefined;
      /** The low-level failure's code: `ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_CONNECT_TIMEOUT`, `DEPTH_ZERO_SELF_SIGNED_CERT`, … */
      readonly causeCode: string | undefined;
      readonly attempts: number;
      /** Time spent on Logout, in milliseconds, to 0.1 ms. */
      readonly durationMs: number;
      readonly requestId: string | undefined;
      readonly shared: boolean;
      /** Signing out everywhere: what became of the user's other sessions. */
      readonly everywhere: EverywhereReport | undefined;
    }
  | {
      readonly type: 'refused';
      readonly code: 'method_not_allowed' | 'cross_site_request' | 'background_request';
      readonly status: number;
      readonly method: string;
      /**
       * For a cross-site refusal: `origin_mismatch`, `origin_null`, `origin_invalid`,
       * `sec_fetch_site` or `referer_mismatch`; for a background one: `prefetch` or `embedded`.
       */
      readonly reason: string | undefined;
      /** The `Origin` the request sent, if any. */
      readonly origin: string | undefined;
      /** The app's own origin as the route worked it out (with the proxy headers the app trusts). */
      readonly expectedOrigin: string | undefined;
    }
  | {
      readonly type: 'return_to_rejected';
      readonly reason: ReturnToRejection;
      /** The refused value. */
      readonly value: string;
    };

/** Published only while someone subscribes. */
const eventChannel = channel('sso-signout:event');
const errorChannel = channel('sso-signout:error');
const MAX_EVENT_VALUE = 200;

/** Every string of an event escaped and bounded: an event is a log line waiting to happen. */
function printableEvent(event: SignOutEvent): SignOutEvent {
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    clean[key] = typeof value === 'string' ? printable(value, MAX_EVENT_VALUE) : value;
  }
  return clean as unknown as SignOutEvent;
}

/** The `signout` event for an answer. */
export function signOutEvent(result: SignOutResult, logout: LogoutResult | undefined): SignOutEvent {
  return {
    type: 'signout',
    code: result.code,
    status: result.status,
    signedOut: result.signedOut,
    upstream: result.upstream,
    upstreamStatus: logout?.upstreamStatus,
    errorName: logout?.errorName,
    reason: logout?.reason,
    causeCode: logout?.cause?.code,
    attempts: logout?.attempts ?? 0,
    durationMs: Math.round((logout?.durationMs ?? 0) * 10) / 10,
    requestId: logout?.requestId,
    shared: logout?.shared ?? false,
    everywhere: result.everywhere,
  };
}

export class RouteEvents<Req> {
  constructor(
    private readonly onEvent: ((event: SignOutEvent, req: Req) => unknown) | undefined,
    private readonly hookFailed: (hook: string, error: unknown) => void,
  ) {}

  /** Whether anyone listens: events are only built then. */
  get listened(): boolean {
    return this.onEvent !== undefined || eventChannel.hasSubscribers;
  }

  emit(raw: SignOutEvent, native: Req): void {
    const event = printableEvent(raw);
    if (eventChannel.hasSubscribers) eventChannel.publish(event);
    if (this.onEvent === undefined) return;
    try {
      // An async hook returns a promise (of this realm or another: any thenable): its rejection
      // must not go unhandled (that ends the process).
      const returned: unknown = this.onEvent(event, native);
      if (isThenable(returned)) {
        Promise.resolve(returned).catch((error: unknown) => {
          this.hookFailed('onEvent', error);
        });
      }
    } catch (error) {
      this.hookFailed('onEvent', error);
    }
  }

  publishError(error: SignOutError | undefined): void {
    if (error !== undefined && errorChannel.hasSubscribers) errorChannel.publish(error);
  }
}
