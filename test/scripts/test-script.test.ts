// scripts/test, the README's test command, ends with its summary line and nothing tap says about coverage
// (coverage is off on purpose).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { kidfsEnv } from '../helpers/kidfs-mount.ts';

const SCRIPT = new URL('../../scripts/test', import.meta.url).pathname;

t.test('the summary closes the output, with no "No coverage generated" before it', async (t) => {
  // A quick test file of the suite, run the way a person runs the suite.
  const result = spawnSync('bash', [SCRIPT, 'test/cli/help.test.ts'], { encoding: 'utf8', env: kidfsEnv(), timeout: 120_000 });
  t.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  t.equal(lines.at(-1), '1 passed, 0 failed');
  t.notMatch(result.stdout, /No coverage generated/);
});
