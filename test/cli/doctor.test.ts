// `kidfs doctor <nfs-url>` run as an admin runs it on a node, against ganesha configured the unsafe way and the
// safe way: it must warn about each hole a tenant could use, and only about those.
import t from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLoopbackNfs, type LoopbackNfsOptions } from '../../scripts/loopback-nfs.ts';
import { KIDFS, kidfsEnv } from '../helpers/kidfs-mount.ts';
import { makeTempDir } from '../helpers/kidfs-test-config.ts';

const dir = makeTempDir('kidfs-doctor-test-');
t.teardown(() => dir.remove());
const config = join(dir.path, 'kidfs.ini');
writeFileSync(config, '[mount]\nnfs-timeout = 10s\n');

async function doctor(options: LoopbackNfsOptions, rootMode: number): Promise<{ lines: string[]; exitCode: number; exportDir: string }> {
  const server = await startLoopbackNfs(options);
  t.teardown(() => server.stop());
  chmodSync(server.dir, rootMode);
  const url = `nfs://127.0.0.1${server.dir}?nfsport=${server.nfsPort}&mountport=${server.mountPort}`;
  const result = await promisify(execFile)(KIDFS, ['doctor', url, '--config', config], { env: kidfsEnv() }).then(
    ({ stdout }) => ({ stdout, exitCode: 0 }),
    (err: { stdout: string; code: number }) => ({ stdout: err.stdout, exitCode: err.code }),
  );
  return { lines: result.stdout.trim().split('\n'), exitCode: result.exitCode, exportDir: server.dir };
}

t.test('an export open to every process of a node: each hole is a warning', async (t) => {
  const { lines, exitCode, exportDir } = await doctor({ squash: 'none', privilegedPort: false }, 0o777);
  t.match(lines[0], /^warning: root is not squashed for this node: a file created as uid 0 belongs to uid 0/);
  t.match(
    lines[1],
    /^warning: the server answers NFS calls from unprivileged source ports: any process on this node, root or not, can claim any uid/,
  );
  t.match(
    lines[2],
    /^warning: the export's root directory on the server is owned by uid 0, group 0, mode 0777: .*; the provisioner refuses to make volumes there$/,
  );
  t.match(lines[3], /^unknown: whether pods reach 127\.0\.0\.1 cannot be seen from a node/);
  t.equal(lines[4], '3 warnings');
  t.equal(exitCode, 1, 'warnings make the exit code 1');
  t.same(readdirSync(exportDir), [], 'the probe file is removed');
});

t.test("root squashed, privileged ports required, the root root's own: no warning", async (t) => {
  const { lines, exitCode } = await doctor({ squash: 'root', privilegedPort: true }, 0o755);
  t.same(lines.slice(0, 3), [
    "ok: root is squashed: uid 0 may not create a file in the export's root",
    'ok: the server turns away NFS calls from unprivileged source ports (AUTH_TOOWEAK)',
    "ok: the export's root belongs to root and no one else can write it",
  ]);
  t.equal(lines[4], 'no warnings');
  t.equal(exitCode, 0);
});

t.test('root squashed on a root anyone may write: the squashed owner shows', async (t) => {
  const { lines } = await doctor({ squash: 'root', privilegedPort: true }, 0o777);
  t.equal(lines[0], 'ok: root is squashed: a file created as uid 0 belongs to uid 4294967294');
  t.match(lines[2], /^warning: the export's root directory/);
});
