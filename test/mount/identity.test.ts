// Real kidfs mounts of one ganesha export for several identities: whatever uid a container process has, the server
// sees the mount's identity, and the server's permissions (mode bits, groups, ACLs) decide between identities.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir, run, startMount, startServer, STATIC_TABLE, USER_1000, writeConfig } from '../helpers/kidfs-mount.ts';

const server = await startServer(t);
const work = makeWorkDir(t);
const config = writeConfig(work, STATIC_TABLE);
const mount = (identity: string, name: string) => startMount(t, { url: server.url, identity, config, dir: work, name });
const [editor, editorOnHostB, viewer, api] = await Promise.all([
  mount('cms/editor', 'editor'),
  mount('cms/editor', 'editor-b'),
  mount('cms/viewer', 'viewer'),
  mount('shop/api', 'api'),
]);
const onServer = (path: string) => join(server.dir, path);
const owner = (path: string) => {
  const s = statSync(onServer(path));
  return `${s.uid}:${s.gid}`;
};
const errnoOf = (action: () => unknown): string | undefined => {
  try {
    action();
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
};

t.test('the ready line names the identity', async (t) => {
  t.match(editor.readyLine, `on ${editor.target} as cms/editor (uid 2001 gid 2000 groups 3000)`);
  t.match(viewer.readyLine, '(uid 2002 gid 2000 groups none)');
});

t.test('files made by container uid 0 and by uid 1000 are owned by the identity on the server', async (t) => {
  const byRoot = run('root', editor.target, 'id -u > by-root && mkdir dir-by-root');
  const by1000 = run(USER_1000, editor.target, 'id -u > by-1000 && mkdir dir-by-1000');
  t.equal(byRoot.status, 0, byRoot.stderr);
  t.equal(by1000.status, 0, by1000.stderr);
  t.equal(readFileSync(onServer('by-root'), 'utf8'), '0\n', 'the writer really was uid 0');
  t.equal(readFileSync(onServer('by-1000'), 'utf8'), '1000\n', 'the writer really was uid 1000');
  for (const name of ['by-root', 'by-1000', 'dir-by-root', 'dir-by-1000']) t.equal(owner(name), '2001:2000', `${name} is cms/editor's`);
  const listed = run(USER_1000, editor.target, 'ls -ln by-root');
  t.match(listed.stdout, / 2001 2000 /, 'the mount shows the same owner');
});

t.test("a 0700 directory of one identity is refused to another (EACCES), even to the container's root", async (t) => {
  const made = run(USER_1000, editor.target, 'mkdir -m 0700 private && echo secret > private/notes');
  t.equal(made.status, 0, made.stderr);
  t.equal(statSync(onServer('private')).mode & 0o777, 0o700);

  t.equal(
    errnoOf(() => readdirSync(join(api.target, 'private'))),
    'EACCES',
    'shop/api cannot list it',
  );
  t.equal(
    errnoOf(() => readFileSync(join(api.target, 'private/notes'))),
    'EACCES',
    'nor read in it',
  );
  t.equal(
    errnoOf(() => writeFileSync(join(viewer.target, 'private/mine'), 'x')),
    'EACCES',
    'cms/viewer cannot write in it',
  );
  const asUser = run(USER_1000, api.target, 'cat private/notes');
  t.not(asUser.status, 0);
  t.match(asUser.stderr, /Permission denied/, 'uid 1000 in the api container is refused alike');
  t.equal(readFileSync(join(editorOnHostB.target, 'private/notes'), 'utf8'), 'secret\n', 'the owner reads it from another mount');
});

t.test('a directory shared through a supplementary group is writable by both members, not by others', async (t) => {
  const made = run('root', editor.target, 'mkdir shared && chgrp 3000 shared && chmod 0770 shared && echo from-editor > shared/editor.txt');
  t.equal(made.status, 0, made.stderr);
  t.equal(owner('shared'), '2001:3000', 'chgrp to a group of the identity reached the server');

  const byApi = run(USER_1000, api.target, 'echo from-api > shared/api.txt && cat shared/editor.txt');
  t.equal(byApi.status, 0, byApi.stderr);
  t.equal(byApi.stdout, 'from-editor\n', 'shop/api reads what cms/editor wrote');
  t.equal(owner('shared/api.txt'), '2101:2100', "the new file is shop/api's");
  t.equal(readFileSync(join(editor.target, 'shared/api.txt'), 'utf8'), 'from-api\n', 'and cms/editor reads it');

  t.equal(
    errnoOf(() => writeFileSync(join(viewer.target, 'shared/viewer.txt'), 'x')),
    'EACCES',
    'cms/viewer is not in group 3000',
  );
});

t.test('a directory an admin made read-only for one identity with a POSIX ACL refuses its creates', async (t) => {
  mkdirSync(onServer('dropbox'), { mode: 0o777 });
  const acl = run('root', server.dir, 'chmod 0777 dropbox && setfacl -m u:2001:r-x dropbox');
  t.equal(acl.status, 0, acl.stderr);

  t.equal(
    errnoOf(() => writeFileSync(join(editor.target, 'dropbox/new'), 'x')),
    'EACCES',
    'cms/editor cannot create a file',
  );
  t.equal(
    errnoOf(() => mkdirSync(join(editor.target, 'dropbox/dir'))),
    'EACCES',
    'nor a directory',
  );
  writeFileSync(join(api.target, 'dropbox/new'), 'from api');
  t.equal(owner('dropbox/new'), '2101:2100', 'shop/api, not named in the ACL, creates as before');
  t.equal(readFileSync(join(editor.target, 'dropbox/new'), 'utf8'), 'from api', 'cms/editor may still read');
});

t.test('two mounts of one identity (two hosts): what one wrote and closed, the other reads whole', async (t) => {
  const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  const first = randomBytes(5 * 1024 * 1024 + 123);
  writeFileSync(join(editor.target, 'report.bin'), first);
  t.equal(sha(readFileSync(join(editorOnHostB.target, 'report.bin'))), sha(first), "host B reads all of host A's file");

  const second = randomBytes(first.length);
  writeFileSync(join(editor.target, 'report.bin'), second);
  t.equal(sha(readFileSync(join(editorOnHostB.target, 'report.bin'))), sha(second), 'a rewrite of the same size too (open revalidates)');

  const grown = run(USER_1000, editorOnHostB.target, 'printf tail >> report.bin');
  t.equal(grown.status, 0, grown.stderr);
  const back = readFileSync(join(editor.target, 'report.bin'));
  t.equal(back.length, second.length + 4, "host A sees host B's append");
  t.equal(back.subarray(-4).toString(), 'tail');
});
