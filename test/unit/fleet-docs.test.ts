import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../platform/settings.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('documentation of the fleet', () => {
  it.each(Object.values(ENV))('docs/configuration.md documents %s in a table row', (name) => {
    expect(read('docs/configuration.md')).toMatch(new RegExp(`^\\| \`${name}\`\\s*\\|`, 'm'));
  });

  it('the README quick start has exactly the two commands, and .ci/run runs the test one', () => {
    const readme = read('README.md');
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Architecture'));
    const block = /```sh\n([\s\S]*?)```/.exec(quick)?.[1] ?? '';
    const commands = block
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter((l) => l !== '');
    expect(commands).toEqual(['npm run fleet -- --clusters 50', 'npm test']);
    expect(read('.ci/run')).toMatch(/^npm test$/m);
  });
});
