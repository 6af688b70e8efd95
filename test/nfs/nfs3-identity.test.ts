// The credential of each call decides: ownership, permission checks, supplementary groups, squashing,
// and many identities interleaved on one connection.
import t from 'tap';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Errno } from '../../src/fs/errno.ts';
import { errnoOfFailure } from '../../src/fs/fs-error.ts';
import { NfsError } from '../../src/nfs/nfs-error.ts';
import { StableHow } from '../../src/nfs/nfs3-types.ts';
import { ROOT, cred, rejectsWithStatus, startNfsFixture } from '../helpers/nfs-fixture.ts';

const { server, exp } = await startNfsFixture(t);
const { client, rootHandle: root } = exp;
const backing = (...names: string[]) => join(server.dir, ...names);
const alice = cred(2001, 3001);
const bob = cred(2002, 3002);

t.test('files are owned by the credential that created them', async (t) => {
  await client.create(alice, root, 'alice.txt', { mode: 'guarded', attributes: { mode: 0o600 } });
  await client.mkdir(bob, root, 'bob-dir', { mode: 0o755 });
  await client.symlink(bob, root, 'bob-link', 'alice.txt');
  t.match(statSync(backing('alice.txt')), { uid: 2001, gid: 3001 });
  t.match(statSync(backing('bob-dir')), { uid: 2002, gid: 3002 });
  const { uid, gid } = lstatSync(backing('bob-link'));
  t.same({ uid, gid }, { uid: 2002, gid: 3002 });
});

t.test('a 0700 directory of one uid refuses another', async (t) => {
  const secretDir = await client.mkdir(alice, root, 'private', { mode: 0o700 });
  await client.create(alice, secretDir.handle, 'secret', { mode: 'guarded', attributes: { mode: 0o600 } });
  const err = await client.lookup(bob, secretDir.handle, 'secret').catch((e: unknown) => e);
  t.type(err, NfsError);
  t.equal((err as NfsError).message, 'NFS3ERR_ACCES: permission denied for uid 2002 (LOOKUP secret)');
  t.equal(errnoOfFailure(err), Errno.EACCES);
  t.ok(await client.lookup(alice, secretDir.handle, 'secret'), 'the owner gets in');
  await rejectsWithStatus(
    t,
    client.create(bob, secretDir.handle, 'intruder', { mode: 'guarded' }),
    'NFS3ERR_ACCES',
    Errno.EACCES,
    'CREATE',
  );
  await rejectsWithStatus(t, client.readdirplusAll(bob, secretDir.handle), 'NFS3ERR_ACCES', Errno.EACCES, 'READDIRPLUS');
});

t.test('supplementary gids grant group access; 20 of them are cut to 16, not refused', async (t) => {
  mkdirSync(backing('team'));
  chmodSync(backing('team'), 0o770);
  chownSync(backing('team'), 2001, 5000);
  const team = await client.lookup(ROOT, root, 'team');
  await rejectsWithStatus(
    t,
    client.create(bob, team.handle, 'no', { mode: 'guarded' }),
    'NFS3ERR_ACCES',
    Errno.EACCES,
    'bob alone is not in group 5000',
  );

  const member = cred(2002, 3002, [4000, 5000]);
  const made = await client.create(member, team.handle, 'yes', { mode: 'guarded' });
  t.match(statSync(backing('team', 'yes')), { uid: 2002, gid: 3002 }, 'created through group 5000 membership');

  const many = (at: number) =>
    cred(
      2002,
      3002,
      Array.from({ length: 20 }, (_, i) => (i === at ? 5000 : 6000 + i)),
    );
  const w = await client.write(many(15), made.handle, 0n, Buffer.from('sixteen'), StableHow.FILE_SYNC);
  t.equal(w.count, 7, '20 gids: the call is accepted');
  await client.create(many(15), team.handle, 'sixteenth', { mode: 'guarded' });
  t.ok(statSync(backing('team', 'sixteenth')), 'group 5000 as the 16th gid still counts');
  await rejectsWithStatus(
    t,
    client.create(many(16), team.handle, 'seventeenth', { mode: 'guarded' }),
    'NFS3ERR_ACCES',
    Errno.EACCES,
    'group 5000 as the 17th gid is not sent',
  );
});

t.test('one connection carries many identities interleaved', async (t) => {
  const people = Array.from({ length: 6 }, (_, i) => cred(2100 + i, 3100 + i));
  const privateDir = await client.mkdir(alice, root, 'only-alice', { mode: 0o700 });
  await client.create(alice, privateDir.handle, 'inside', { mode: 'guarded' });
  const rounds = await Promise.all(
    people.flatMap((person, i) => [
      client.create(person, root, `person-${i}`, { mode: 'guarded', attributes: { mode: 0o640 } }).then(async (made) => {
        await client.write(person, made.handle, 0n, Buffer.from(`written by ${person.uid}`), StableHow.FILE_SYNC);
        return { kind: 'create' as const, i, attributes: made.attributes };
      }),
      client.lookup(person, privateDir.handle, 'inside').then(
        () => ({ kind: 'lookup' as const, i, errno: 0 }),
        (err: unknown) => ({ kind: 'lookup' as const, i, errno: errnoOfFailure(err) }),
      ),
      client.lookup(alice, privateDir.handle, 'inside').then(() => ({ kind: 'alice' as const, i })),
    ]),
  );
  t.equal(exp.client.transport, client.transport);
  for (const [i, person] of people.entries()) {
    const st = statSync(backing(`person-${i}`));
    t.match(st, { uid: person.uid, gid: person.gid }, `person-${i} owned by ${person.uid}:${person.gid}`);
    t.equal(readFileSync(backing(`person-${i}`), 'utf8'), `written by ${person.uid}`);
  }
  for (const r of rounds) {
    if (r.kind === 'create') t.equal(r.attributes?.uid, people[r.i]!.uid, 'the reply to each create carries its own owner');
    if (r.kind === 'lookup') t.equal(r.errno, Errno.EACCES, `uid ${people[r.i]!.uid} refused, whatever alice did at the same time`);
  }
  t.equal(rounds.filter((r) => r.kind === 'alice').length, people.length, 'alice got in every time');
});

t.test('root squash turns uid 0 into the anonymous id; others pass', async (t) => {
  const { server: squashed, exp: sq } = await startNfsFixture(t, { squash: 'root', anonUid: 7777, anonGid: 7778 });
  await sq.client.create(ROOT, sq.rootHandle, 'by-root', { mode: 'guarded' });
  await sq.client.create(alice, sq.rootHandle, 'by-alice', { mode: 'guarded' });
  t.match(statSync(join(squashed.dir, 'by-root')), { uid: 7777, gid: 7778 }, 'root squashed to the anonymous id');
  t.match(statSync(join(squashed.dir, 'by-alice')), { uid: 2001, gid: 3001 }, 'a non-root uid is kept');
  const attrs = await sq.client.getattr(ROOT, (await sq.client.lookup(ROOT, sq.rootHandle, 'by-root')).handle);
  t.equal(attrs.uid, 7777);
});
