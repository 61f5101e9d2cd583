// Differential conformance with the official SDK (`@aws-sdk/client-sso`): over a generated matrix of
// portal answers, our client and the SDK's must reach the same error name, the same outcome and the
// same number of requests, counted at a real loopback server. Jitter is pinned to zero on both sides
// so retries cost no time. Every disagreement must be one the README lists, with its reason.

import { LogoutCommand, SSOClient } from '@aws-sdk/client-sso';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakePortal, type FakePortal, type PortalCall, type PortalReply } from 'sso-signout/testing';
import { THROTTLING_ERROR_NAMES, TRANSIENT_ERROR_NAMES, TRANSIENT_STATUSES } from '../../src/core/logout/classify.js';
import { normaliseSessionRegion, regionalEndpoint } from '../../src/core/logout/endpoint.js';
import { createLogoutClient, type LogoutClient } from '../../src/core/logout/client.js';
import { MAX_ERROR_BODY_BYTES } from '../../src/core/logout/transport.js';

let portal: FakePortal;
let sdkHandler: NodeHttpHandler;
let httpAgent: HttpAgent;
let dispatcher: Agent;
// Each case's replies, by the token its calls carry; `sdk-…` and `our-…` tokens share one script.
const scripts = new Map<string, readonly PortalReply[]>();
const callsByToken = new Map<string, number>();

function scriptFor(call: PortalCall): PortalReply {
  const token = call.token ?? '';
  const n = callsByToken.get(token) ?? 0;
  callsByToken.set(token, n + 1);
  const script = scripts.get(token.replace(/^(sdk|our)-/, '')) ?? ['ok'];
  return script[Math.min(n, script.length - 1)] ?? 'ok';
}

beforeAll(async () => {
  portal = await startFakePortal();
  portal.setDefault(scriptFor);
  httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  sdkHandler = new NodeHttpHandler({ httpAgent });
  dispatcher = new Agent({ connections: 64 });
  // Full jitter with random() = 0: every backoff is 0 ms, on both sides.
  vi.spyOn(Math, 'random').mockReturnValue(0);
});
afterAll(async () => {
  vi.restoreAllMocks();
  httpAgent.destroy();
  await dispatcher.close();
  await portal.close();
});

type Outcome = 'revoked' | 'rejected' | 'throttled' | 'unavailable' | 'timeout' | 'bad_response' | 'not_sent';

interface Verdict {
  readonly outcome: Outcome;
  /** The error name as each side reports it; `-` for none. */
  readonly name: string;
  readonly requests: number;
}

/**
 * The SDK's verdict on one call. The outcome applies the contract's final rule to what the SDK
 * decided itself: its error name, and its own throttling and transient classification.
 */
function sdkOutcome(error: unknown): { outcome: Outcome; name: string } {
  if (error === undefined) return { outcome: 'revoked', name: '-' };
  const e = error as Error & { $metadata?: { httpStatusCode?: number } };
  // Only a portal's answer has an error name; the SDK names failed connections and failed body
  // reads after its own errors (`TimeoutError`, `Error`), and a nameless answer `Unknown`.
  const answered = e.$metadata?.httpStatusCode !== undefined;
  const name = !answered || ['Unknown', 'SyntaxError', 'Error'].includes(e.name) ? '-' : e.name;
  if (e.name === 'UnauthorizedException' || e.name === 'InvalidRequestException') return { outcome: 'rejected', name };
  if (isThrottlingError(e as never)) return { outcome: 'throttled', name };
  if (isTransientError(e as never)) return { outcome: 'unavailable', name };
  return { outcome: 'bad_response', name };
}

// A fresh client per case on each side (sharing connections): retry quotas and our throttle gate
// carry state from one call to the next, and each case must start clean.
function sdkClient(): SSOClient {
  return new SSOClient({ region: 'us-east-1', endpoint: portal.url, requestHandler: sdkHandler, maxAttempts: 3 });
}
function ourClient(): LogoutClient {
  return createLogoutClient({ endpoint: portal.url, dispatcher, timeoutMs: 30_000 }, { random: () => 0 });
}

// Replies that end the connection however they like get connections of their own on both sides:
// a keep-alive connection they leave half-closed must not fail the next case's request.
const isolatedHandler = () => new NodeHttpHandler({ httpAgent: new HttpAgent({ keepAlive: false }) });

async function run(id: string, script: readonly PortalReply[]): Promise<{ sdk: Verdict; ours: Verdict }> {
  scripts.set(id, script);
  const isolated = script.some((reply) => typeof reply === 'object' && reply.kind === 'raw');
  const theirs$ = isolated
    ? new SSOClient({ region: 'us-east-1', endpoint: portal.url, requestHandler: isolatedHandler(), maxAttempts: 3 })
    : sdkClient();
  const ownDispatcher = isolated ? new Agent({ pipelining: 0 }) : undefined;
  const mine$ = isolated
    ? createLogoutClient({ endpoint: portal.url, dispatcher: ownDispatcher, timeoutMs: 30_000 }, { random: () => 0 })
    : ourClient();
  const [theirs, mine] = await Promise.all([
    theirs$.send(new LogoutCommand({ accessToken: `sdk-${id}` })).then(
      () => undefined,
      (error: unknown) => error,
    ),
    mine$.logout({ accessToken: `our-${id}` }),
  ]);
  await ownDispatcher?.close();
  const sdk = sdkOutcome(theirs);
  return {
    sdk: { ...sdk, requests: callsByToken.get(`sdk-${id}`) ?? 0 },
    ours: { outcome: mine.outcome, name: mine.errorName ?? '-', requests: callsByToken.get(`our-${id}`) ?? 0 },
  };
}

interface Case {
  readonly id: string;
  readonly label: string;
  readonly script: readonly PortalReply[];
  /** Why we knowingly differ from the SDK here (listed in the README), if we do. */
  readonly known?: string;
}

const STATUSES = [200, 201, 204, 301, 302, 304, 307, 400, 401, 403, 404, 408, 409, 413, 418, 429];
STATUSES.push(500, 501, 502, 503, 504, 505, 507, 599);

const EXTRA_NAMES = [
  'UnauthorizedException',
  'InvalidRequestException',
  'ResourceNotFoundException',
  'AccessDeniedException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InternalServerError',
  'SomethingNew',
];
const NAMES = [...THROTTLING_ERROR_NAMES, ...TRANSIENT_ERROR_NAMES, ...EXTRA_NAMES];
const EXPIRED = 'Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z';

/** The ways a name reaches the client. */
const NAME_SOURCES: readonly [string, (name: string, message: string) => { errorType?: string; body: string }][] = [
  ['x-amzn-errortype', (n, m) => ({ errorType: n, body: JSON.stringify({ message: m }) })],
  [
    'x-amzn-errortype with :suffix',
    (n, m) => ({ errorType: `${n}:http://internal.amazon.com/coral/`, body: JSON.stringify({ message: m }) }),
  ],
  [
    'x-amzn-errortype with namespace#',
    (n, m) => ({ errorType: `com.amazonaws.switchboard.portal#${n}`, body: JSON.stringify({ Message: m }) }),
  ],
  ['body __type', (n, m) => ({ body: JSON.stringify({ __type: `com.amazonaws.sso#${n}`, message: m }) })],
  ['body code', (n, m) => ({ body: JSON.stringify({ code: n, message: m }) })],
  ['body Code', (n, m) => ({ body: JSON.stringify({ Code: `${n},extra`, message: m }) })],
  ['x-amzn-errortype and an HTML body', (n) => ({ errorType: n, body: '<html><body>denied</body></html>' })],
];

const pad = 'x'.repeat(MAX_ERROR_BODY_BYTES + 1024);
/** Bodies that name nothing, or name it where only a full read finds it. */
const BODIES: readonly [string, string, ((status: number) => string | undefined)?][] = [
  ['no body', ''],
  ['an HTML page', '<!doctype html><html><body><h1>Bad Gateway</h1></body></html>'],
  ['invalid JSON', '{"message": "unterminated'],
  ['JSON null', 'null'],
  ['a JSON string', '"UnauthorizedException"'],
  ['a JSON array', '["UnauthorizedException"]'],
  ['an empty JSON object', '{}'],
  ['a message only', '{"message":"Session token not found or invalid"}'],
  ['blanks', '   '],
  ['a numeric code', '{"code":429}'],
  ['an empty __type', '{"__type":""}'],
  [
    'an oversize body naming ThrottlingException at its end',
    JSON.stringify({ pad, __type: 'ThrottlingException' }),
    () => 'bounded body read: the name is past the first 8 KiB',
  ],
  [
    'an oversize body naming UnauthorizedException at its start',
    JSON.stringify({ __type: 'UnauthorizedException', pad }),
    () => 'bounded body read: a cut body is not JSON, so its name is not read',
  ],
];

function buildCases(): Case[] {
  const cases: Case[] = [];
  let n = 0;
  const add = (label: string, script: readonly PortalReply[], known?: string) => {
    cases.push({ id: `c${String(n++)}`, label, script, ...(known === undefined ? {} : { known }) });
  };
  for (const status of STATUSES) {
    for (const [source, shape] of NAME_SOURCES) {
      for (const name of NAMES) {
        const messages = name === 'InvalidSignatureException' ? [EXPIRED, 'Signature mismatch'] : ['Rate exceeded'];
        for (const message of messages) {
          add(`${String(status)} ${name} (${message.slice(0, 18)}) in ${source}`, [
            { kind: 'status', status, ...shape(name, message) },
          ]);
        }
      }
    }
    for (const [label, body, known] of BODIES) {
      add(`${String(status)} with ${label}`, [{ kind: 'status', status, body }], known?.(status));
    }
  }
  // A name that comes out empty (a namespace with nothing after its '#', a bare ':' or ','; an
  // empty `code` or `__type`) beside one in the body's `name`, which the SDK then takes.
  const EMPTY_NAMES: readonly [string, (name: string) => { errorType?: string; body: string }][] = [
    ['an empty x-amzn-errortype', (n) => ({ errorType: '', body: JSON.stringify({ name: n }) })],
    ['x-amzn-errortype ":"', (n) => ({ errorType: ':', body: JSON.stringify({ name: n }) })],
    ['x-amzn-errortype ","', (n) => ({ errorType: ',', body: JSON.stringify({ name: n }) })],
    ['x-amzn-errortype "ns#"', (n) => ({ errorType: 'ns#', body: JSON.stringify({ name: n }) })],
    ['an empty body code', (n) => ({ body: JSON.stringify({ code: '', name: n }) })],
    ['an empty body __type', (n) => ({ body: JSON.stringify({ __type: '', name: n }) })],
    ['no name at all', (n) => ({ body: JSON.stringify({ name: n }) })],
  ];
  for (const status of [400, 401, 403, 429, 500, 503]) {
    for (const [source, shape] of EMPTY_NAMES) {
      for (const name of ['UnauthorizedException', 'ThrottlingException', 'RequestTimeoutException', 'Other', '']) {
        add(`${String(status)} with ${source} and body name ${JSON.stringify(name)}`, [
          { kind: 'status', status, ...shape(name) },
        ]);
      }
    }
  }

  // Fields of the SDK's own exception in the body, which it copies onto the exception it throws,
  // and whose retry rules then read them.
  const SDK_FIELDS =
    'fields of the SDK’s own exception in an error body: the SDK copies them and its retry rules read them';
  for (const status of [400, 401, 403, 500]) {
    for (const errorType of ['AccessDeniedException', 'UnauthorizedException', undefined]) {
      for (const fields of [
        { $retryable: {} },
        { $retryable: { throttling: true } },
        { code: 'ECONNRESET' },
        { cause: { name: 'TimeoutError' } },
        { cause: { code: 'ETIMEDOUT' } },
      ]) {
        add(
          `${String(status)} ${errorType ?? 'unnamed'} with ${JSON.stringify(fields)}`,
          [{ kind: 'status', status, ...(errorType === undefined ? {} : { errorType }), body: JSON.stringify(fields) }],
          SDK_FIELDS,
        );
      }
    }
  }

  // Framing no HTTP server should send, as a broken proxy might.
  const raw = (bytes: string): PortalReply => ({ kind: 'raw', bytes });
  const named401 = 'HTTP/1.1 401 X\r\nx-amzn-errortype: UnauthorizedException\r\n';
  add('two Content-Length headers', [raw(`${named401}content-length: 2\r\ncontent-length: 2\r\n\r\n{}`)]);
  add('Content-Length and Transfer-Encoding', [
    raw(`${named401}content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`),
  ]);
  add('Content-Length: 2, 2', [raw(`${named401}content-length: 2, 2\r\n\r\n{}`)]);
  add('headers over 16 KiB', [raw(`${named401}x-pad: ${'a'.repeat(17_000)}\r\ncontent-length: 0\r\n\r\n`)]);
  const notSuccess = 'a status below 200 is not a 2xx: the SDK takes any status under 300 for success';
  add('status 099', [raw('HTTP/1.1 099 X\r\ncontent-length: 0\r\n\r\n')], notSuccess);
  add('status 000', [raw('HTTP/1.1 000 X\r\ncontent-length: 0\r\n\r\n')], notSuccess);
  add('a 101 nobody asked for', [raw('HTTP/1.1 101 X\r\n\r\n')], notSuccess);
  add(
    'an invalid chunk size',
    [raw(`${named401}transfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`)],
    'a body whose framing is broken is an answer that is not HTTP; the SDK retries it as a dropped connection',
  );
  add('a 103 before a 401 UnauthorizedException', [
    raw(`HTTP/1.1 103 Early\r\n\r\n${named401}content-length: 0\r\n\r\n`),
  ]);
  add('an HTTP/1.0 401 ending with the connection', [
    raw('HTTP/1.0 401 X\r\nx-amzn-errortype: UnauthorizedException\r\n\r\n{}'),
  ]);
  for (const answer of [
    '200 OK\r\ncontent-length: 0',
    '401 X\r\nx-amzn-errortype: UnauthorizedException\r\ncontent-length: 0',
  ]) {
    add(
      `an unsolicited 100 Continue before ${answer.slice(0, 3)}`,
      [raw(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 ${answer}\r\n\r\n`)],
      'an unsolicited 100 Continue: undici refuses the connection, so it counts as an answer that is not HTTP',
    );
  }
  // Blanks (spaces, tabs) around a header value are not part of it; other bytes that look blank
  // (a latin-1 no-break space) are, so the name is not one the SDK knows.
  for (const name of [
    ' UnauthorizedException',
    'UnauthorizedException ',
    'ThrottlingException\t',
    ' RequestTimeoutException ',
    'UnauthorizedException\u00a0',
    '\u00a0UnauthorizedException',
    'ThrottlingException\u00a0',
    '\u00a0 UnauthorizedException \u00a0',
  ]) {
    add(`400 naming ${JSON.stringify(name)} with blanks`, [
      raw(`HTTP/1.1 400 X\r\nx-amzn-errortype: ${name}\r\ncontent-length: 2\r\n\r\n{}`),
    ]);
  }
  // Bodies at the read bound, named in the header.
  for (const size of [MAX_ERROR_BODY_BYTES - 1, MAX_ERROR_BODY_BYTES, MAX_ERROR_BODY_BYTES + 1]) {
    add(`401 UnauthorizedException with an HTML body of ${String(size)} bytes`, [
      { kind: 'status', status: 401, errorType: 'UnauthorizedException', body: `<html>${'x'.repeat(size - 6)}` },
    ]);
    add(`400 ThrottlingException with a JSON body of ${String(size)} bytes`, [
      {
        kind: 'status',
        status: 400,
        errorType: 'ThrottlingException',
        body: JSON.stringify({ message: 'x'.repeat(size - 14) }),
      },
    ]);
  }

  // Answers that are not a plain status, and answers that change between attempts.
  add('a reset connection, every attempt', ['reset']);
  add('bytes that are not HTTP', ['garbage']);
  // A connection that breaks in the body, after every status: only the status line arrived.
  for (const status of [...STATUSES, 500, 502, 503, 504]) {
    add(
      `a reset during a ${String(status)} body`,
      [{ kind: 'reset-during', status }],
      status >= 200 && status < 300
        ? 'a 2xx status line is the portal saying the token is revoked; the SDK also needs the (empty) body'
        : undefined,
    );
  }
  add('a 307 with a Location', [{ kind: 'redirect', status: 307, location: 'http://127.0.0.1:1/elsewhere' }]);
  add('503, then 200', [{ kind: 'status', status: 503 }, 'ok']);
  add('429, 503, then 401 UnauthorizedException', [
    { kind: 'status', status: 429 },
    { kind: 'status', status: 503 },
    'unauthorized',
  ]);
  add('reset, then 400 ThrottlingException, then 200', [
    'reset',
    { kind: 'status', status: 400, errorType: 'ThrottlingException' },
    'ok',
  ]);
  add('500 RequestTimeout, then 400 InvalidRequestException', [
    { kind: 'status', status: 500, errorType: 'RequestTimeout' },
    'invalid-request',
  ]);
  return cases;
}

const CASES = buildCases();

describe('differential conformance with @aws-sdk/client-sso', () => {
  it('uses the SDK’s own lists of throttling and transient error names and statuses', async () => {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve('@smithy/core/package.json'));
    const file = join(root, 'dist-es/submodules/retry/service-error-classification/constants.js');
    const sdk = (await import(pathToFileURL(file).href)) as {
      THROTTLING_ERROR_CODES: string[];
      TRANSIENT_ERROR_CODES: string[];
      TRANSIENT_ERROR_STATUS_CODES: number[];
    };
    expect([...THROTTLING_ERROR_NAMES].sort()).toEqual([...sdk.THROTTLING_ERROR_CODES].sort());
    expect([...TRANSIENT_ERROR_NAMES].sort()).toEqual([...sdk.TRANSIENT_ERROR_CODES].sort());
    expect([...TRANSIENT_STATUSES].sort()).toEqual([...sdk.TRANSIENT_ERROR_STATUS_CODES].sort());
  });

  it(
    `reaches the SDK’s name, outcome and request count over ${String(CASES.length)} generated answers`,
    { timeout: 240_000 },
    async () => {
      const disagreements: string[] = [];
      const known = new Map<string, number>();
      let requests = 0;
      // In batches: each case runs both clients at once, tokens tell their calls apart.
      for (let i = 0; i < CASES.length; i += 48) {
        const batch = CASES.slice(i, i + 48);
        const verdicts = await Promise.all(batch.map((c) => run(c.id, c.script)));
        batch.forEach((c, j) => {
          const { sdk, ours } = verdicts[j] as { sdk: Verdict; ours: Verdict };
          requests += sdk.requests + ours.requests;
          const same = JSON.stringify(sdk) === JSON.stringify(ours);
          if (c.known !== undefined) {
            if (!same) known.set(c.known, (known.get(c.known) ?? 0) + 1);
          } else if (!same) {
            disagreements.push(`${c.label}: sdk ${JSON.stringify(sdk)} ours ${JSON.stringify(ours)}`);
          }
        });
      }
      console.log(
        `differential matrix: ${String(CASES.length)} answers, ${String(requests)} requests; known disagreements: ${JSON.stringify(Object.fromEntries(known))}`,
      );
      expect(disagreements).toEqual([]);
      // The README's list stays true: the bounded read does make these differ.
      expect([...known.keys()].sort()).toEqual(
        [
          'a 2xx status line is the portal saying the token is revoked; the SDK also needs the (empty) body',
          'a body whose framing is broken is an answer that is not HTTP; the SDK retries it as a dropped connection',
          'a status below 200 is not a 2xx: the SDK takes any status under 300 for success',
          'an unsolicited 100 Continue: undici refuses the connection, so it counts as an answer that is not HTTP',
          'bounded body read: a cut body is not JSON, so its name is not read',
          'bounded body read: the name is past the first 8 KiB',
          'fields of the SDK’s own exception in an error body: the SDK copies them and its retry rules read them',
        ].sort(),
      );
    },
  );

  it(
    'spends the same retry quota as the SDK over a run of failing and recovering calls',
    { timeout: 60_000 },
    async () => {
      // One client on each side for the whole run: the quota is what carries over between calls.
      const sdk = sdkClient();
      const ours = ourClient();
      const patterns: readonly (readonly PortalReply[])[] = [
        [{ kind: 'status', status: 503 }],
        [{ kind: 'status', status: 500 }, { kind: 'status', status: 502 }, 'ok'],
        ['reset'],
        [{ kind: 'status', status: 504 }, 'ok'],
        ['ok'],
        [{ kind: 'status', status: 400, errorType: 'RequestTimeoutException' }],
      ];
      const totals = { sdk: 0, ours: 0 };
      const outcomes = { sdk: [] as string[], ours: [] as string[] };
      for (let i = 0; i < 90; i++) {
        const id = `q${String(i)}`;
        scripts.set(id, patterns[i % patterns.length] as readonly PortalReply[]);
        const theirs = await sdk.send(new LogoutCommand({ accessToken: `sdk-${id}` })).then(
          () => undefined,
          (e: unknown) => e,
        );
        const mine = await ours.logout({ accessToken: `our-${id}` });
        totals.sdk += callsByToken.get(`sdk-${id}`) ?? 0;
        totals.ours += callsByToken.get(`our-${id}`) ?? 0;
        outcomes.sdk.push(sdkOutcome(theirs).outcome);
        outcomes.ours.push(mine.outcome);
      }
      expect(totals.ours).toBe(totals.sdk);
      expect(outcomes.ours).toEqual(outcomes.sdk);
      // The quota did bite: fewer requests than three for every failing call.
      expect(totals.sdk).toBeLessThan(90 * 3);
    },
  );

  it('sends the tokens the SDK sends, and refuses locally only what no portal could have issued', async () => {
    // [token, what the SDK does with it] — ours sends none of the odd ones.
    const tokens: readonly [string, string, number][] = [
      ['plain', 'aoa-plain', 1],
      ['CR LF', 'aoa\r\nx-evil: 1', 0],
      ['NUL', 'aoa\u0000', 0],
      // Known: Node lets latin-1 and blanks through a header; no portal issues such a token.
      ['latin-1', 'aoa\u00e9', 1],
      ['a blank', 'aoa b', 1],
      ['9 KiB', 'a'.repeat(9 * 1024), 1],
    ];
    const seen: string[] = [];
    for (const [label, token, sdkRequests] of tokens) {
      const id = `t-${label}`;
      scripts.set(id, ['ok']);
      const before = portal.calls.length;
      await sdkClient()
        .send(new LogoutCommand({ accessToken: token }))
        .catch(() => undefined);
      const sdkSent = portal.calls.length - before;
      const mine = await ourClient().logout({ accessToken: token });
      const ourSent = portal.calls.length - before - sdkSent;
      seen.push(`${label}: sdk ${String(sdkSent)} ours ${String(ourSent)} (${mine.outcome})`);
      expect(sdkSent, label).toBe(sdkRequests);
      expect(ourSent, label).toBe(label === 'plain' ? 1 : 0);
    }
    console.log(`tokens: ${seen.join('; ')}`);
  });

  it('resolves session regions to the SDK’s endpoint, FIPS pseudo-regions included', async () => {
    const regions = [
      'us-east-1',
      'eu-west-1',
      'fips-us-east-1',
      'us-east-1-fips',
      'fips-dkr-us-east-1',
      'fips-prod-us-east-1',
      'aws-fips',
      'fips-aws-global',
      'fips-us-gov-west-1',
      'us-gov-west-1-fips',
      'cn-north-1-fips',
      'fips-eu-isoe-west-1',
    ];
    const mismatches: string[] = [];
    for (const region of regions) {
      const client = new SSOClient({ region });
      const Region = await client.config.region();
      const UseFIPS = await client.config.useFipsEndpoint();
      const theirs = client.config.endpointProvider({ Region, UseFIPS, UseDualStack: false }).url.href;
      const normal = normaliseSessionRegion(region);
      const mine =
        normal === undefined
          ? 'refused'
          : new URL(regionalEndpoint(normal.region, { useFips: normal.fips, useDualStack: false })).href;
      if (mine !== theirs) mismatches.push(`${region}: sdk ${theirs} ours ${mine}`);
      client.destroy();
    }
    expect(mismatches).toEqual([]);
    // Known, and listed: the SDK sends upper case as it is (DNS ignores case, but its partition
    // rules do not: CN-NORTH-1 would get the aws partition's suffix) and refuses blanks.
    expect(normaliseSessionRegion('CN-NORTH-1')).toEqual({ region: 'cn-north-1', fips: false });
    expect(normaliseSessionRegion(' eu-west-1 ')).toEqual({ region: 'eu-west-1', fips: false });
  });
});
