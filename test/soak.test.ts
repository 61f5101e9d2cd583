// The soak, short: `npm run soak` runs the same code at 20,000 sign-outs and measures memory.

import { expect, it } from 'vitest';
// @ts-expect-error: the soak is plain JavaScript, runnable without a build step for tests.
import { report, runSoak } from '../soak/soak.js';

interface Figures {
  count: number;
  statuses: Record<string, number>;
  signedOut: number;
  portalCalls: number;
  problems: string[];
}

it('answers 2,000 sign-outs at concurrency 64 through a fault mix with contract rows only', async () => {
  const figures = await (runSoak as (options: object) => Promise<Figures>)({ count: 2000, concurrency: 64, seed: 11 });
  console.log((report as (f: Figures) => string)(figures));
  expect(figures.problems).toEqual([]);
  expect(Object.values(figures.statuses).reduce((a, b) => a + b, 0)).toBe(2000);
  // The mix reaches every row of the table.
  expect(Object.keys(figures.statuses).sort()).toEqual(['200', '401', '429', '502', '503', '504']);
  expect(figures.signedOut).toBeGreaterThan(1000);
}, 120_000);
