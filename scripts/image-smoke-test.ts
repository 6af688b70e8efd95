// Smoke test of the kidfs image's root file system (made by scripts/build-image.sh), run with chroot: the image's own
// `kidfs --version`, then a standalone mount of a loopback ganesha export (on 127.0.0.1, started here) as a static
// identity, a file written through it by a container user, owned by the identity on the server, and unmounted.
// Usage: node --import tsx scripts/image-smoke-test.ts <rootfs> <expected version>. Needs root. Leaves nothing mounted.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLoopbackNfs } from './loopback-nfs.ts';

const [rootfs, version] = process.argv.slice(2);
if (!rootfs || !version) throw new Error('usage: image-smoke-test.ts <rootfs> <version>');

/** Runs `command` in the image's root file system (chroot); its output, or an error with its stderr. */
function inImage(command: string[], options: { uid?: number } = {}): string {
  const result = spawnSync(
    'chroot',
    [...(options.uid === undefined ? [] : [`--userspec=${options.uid}:${options.uid}`]), rootfs!, ...command],
    {
      encoding: 'utf8',
      timeout: 120_000,
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/tmp' },
    },
  );
  if (result.status !== 0) {
    throw new Error(
      `${command.join(' ')} in the image failed (${result.error?.message ?? result.status ?? result.signal}): ${result.stderr?.trim()}`,
    );
  }
  return result.stdout;
}

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`smoke test: ${what}`);
  console.log(`image-smoke-test: ok - ${what}`);
};

const printed = inImage(['kidfs', '--version']).trim();
check(printed === version, `kidfs --version in the image prints ${printed} (expected ${version})`);

// What a container gets: /proc, /dev/fuse, a /tmp; undone in the finally below.
const mounts: string[] = [];
const bind = (what: string[], at: string) => {
  if (!existsSync(join(rootfs, at))) mkdirSync(join(rootfs, at), { recursive: true });
  execFileSync('mount', [...what, join(rootfs, at)]);
  mounts.unshift(join(rootfs, at));
};
const server = await startLoopbackNfs();
const target = '/mnt/smoke';
try {
  bind(['-t', 'proc', 'proc'], '/proc');
  bind(['-t', 'tmpfs', 'tmpfs'], '/tmp');
  if (!existsSync(join(rootfs, 'dev/fuse'))) writeFileSync(join(rootfs, 'dev/fuse'), ''); // something to bind the device onto
  bind(['--bind', '/dev/fuse'], '/dev/fuse');
  chmodSync(server.dir, 0o777);
  mkdirSync(join(rootfs, target), { recursive: true });
  writeFileSync(join(rootfs, 'tmp/smoke.ini'), '[static]\nsmoke/writer = 4242:4242\n');

  const url = `nfs://127.0.0.1${server.dir}?nfsport=${server.nfsPort}&mountport=${server.mountPort}`;
  const mounted = inImage(['kidfs', 'mount', url, target, '--identity', 'smoke/writer', '--config', '/tmp/smoke.ini']).trim();
  check(mounted === `mounted ${url} on ${target} as smoke/writer (uid 4242 gid 4242 groups none)`, `kidfs mount in the image: ${mounted}`);
  inImage(['sh', '-c', `echo hello from the image > ${target}/hello.txt`], { uid: 1000 });
  const onServer = join(server.dir, 'hello.txt');
  check(readFileSync(onServer, 'utf8') === 'hello from the image\n', 'a container user (uid 1000) wrote a file through the mount');
  check(statSync(onServer).uid === 4242, "the server has it as the identity's (uid 4242)");
  check(inImage(['kidfs', 'status']).includes(`smoke/writer 4242:4242`), 'kidfs status in the image lists the mount');
  check(inImage(['kidfs', 'unmount', target]).trim() === `unmounted ${target}`, 'kidfs unmount in the image');
} finally {
  spawnSync('umount', ['-l', join(rootfs, target)]);
  for (const path of mounts) spawnSync('umount', ['-l', path]);
  await server.stop();
}
console.log('image-smoke-test: the image runs kidfs and mounts');
