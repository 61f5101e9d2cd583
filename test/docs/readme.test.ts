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

it('ships the files users look for, and links them', async () => {
  const readme = await read('README.md');
  for (const file of ['LICENSE', 'SECURITY.md', 'CONTRIBUTING.md']) {
    expect((await read(file)).length).toBeGreaterThan(200);
    expect(readme).toContain(`(${file})`);
  }
  expect(await read('LICENSE')).toContain('MIT License');
  expect(await read('SECURITY.md')).toContain('IAM role sessions outlive Logout');
});

it('has no Markdown left broken by a backtick run', async () => {
  const readme = await read('README.md');
  // Outside code blocks, every line has an even number of backticks.
  const prose = readme.replace(/```[\s\S]*?```/g, '');
  const odd = prose.split('\n').filter((line) => (line.match(/`/g) ?? []).length % 2 === 1);
  expect(odd).toEqual([]);
});

it("gives every node-redis client in its examples an 'error' listener: without one, a Redis restart ends the process", async () => {
  const readme = await read('README.md');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const withClients = blocks.filter((code) => code.includes('createClient('));
  expect(withClients.length).toBeGreaterThanOrEqual(4);
  for (const code of withClients) {
    const named = /const (\w+) = createClient\(/.exec(code);
    expect(named, code).not.toBeNull();
    const name = (named as RegExpExecArray)[1] as string;
    const listens = code.indexOf(`${name}.on('error'`);
    expect(listens, code).toBeGreaterThan(-1);
    expect(listens, code).toBeLessThan(code.indexOf(`${name}.connect()`));
  }
});
