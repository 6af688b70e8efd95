// What a new user sees first: `kidfs --version` and each command's --help, written for a person.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { KIDFS, untracked } from '../helpers/kidfs-mount.ts';

function kidfs(...args: string[]) {
  const result = spawnSync(...untracked(KIDFS, args), { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

t.test('kidfs --version prints the package version', async (t) => {
  t.same(kidfs('--version'), { status: 0, stdout: `${packageVersion}\n`, stderr: '' });
  t.same(kidfs('-V'), { status: 0, stdout: `${packageVersion}\n`, stderr: '' });
});

t.test('kidfs flexvolume --help prints its usage, not a FlexVolume failure', async (t) => {
  const help = kidfs('flexvolume', '--help');
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /^Usage: kidfs flexvolume <operation> \[args\.\.\.\]\n/);
  t.notMatch(help.stdout, /"status"/);
  t.equal(kidfs('flexvolume', '-h').stdout, help.stdout);
});

t.test('passwd --only names the values it takes', async (t) => {
  const help = kidfs('passwd', '--help');
  t.match(help.stdout, /--only <passwd\|group>/);
  t.notMatch(help.stdout, /--only <file>/);
});

t.test('node --reconcile-interval shows its default as a duration', async (t) => {
  const help = kidfs('node', '--help').stdout.replace(/\s+/g, ' ');
  t.match(help, /--reconcile-interval <duration> how often mounts that are down are tried again \(0s: never\) \(default: 30s\)/);
  t.notMatch(help, /30000/);
});
