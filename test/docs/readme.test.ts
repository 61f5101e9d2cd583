// The README's code that claims to be runnable is the code our tests run.

import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';

const read = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

it('quotes test/docs/testing-your-app.test.ts verbatim', async () => {
  const [readme, example] = await Promise.all([read('README.md'), read('test/docs/testing-your-app.test.ts')]);
  expect(readme).toContain(example.trim());
});

it('names the commands a new user runs, and they exist', async () => {
  const [readme, manifest] = await Promise.all([read('README.md'), read('package.json')]);
  const scripts = (JSON.parse(manifest) as { scripts: Record<string, string> }).scripts;
  for (const command of ['npm ci && npm start', 'npm ci && npm test', 'npm run start:koa']) {
    expect(readme).toContain(command);
  }
  expect(Object.keys(scripts)).toEqual(expect.arrayContaining(['start', 'start:koa', 'test']));
});
