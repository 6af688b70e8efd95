// RpcClient's connection life: timeouts, reconnect backoff, close, backpressure, process lifetime, privileged ports.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freePort } from '../../scripts/loopback-nfs.ts';
import { RpcClient } from '../../src/nfs/rpc-client.ts';
import { RpcConnectionError, RpcTimeoutError } from '../../src/nfs/rpc-errors.ts';
import { XdrWriter } from '../../src/nfs/xdr.ts';
import { delay, frame, startFakeRpcPeer, successReply } from '../helpers/fake-rpc-peer.ts';

const PROG = 200000;
const VERS = 1;
const CHILD = fileURLToPath(new URL('../helpers/rpc-client-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function newClient(
  t: { teardown(fn: () => unknown): void },
  port: number,
  extra: Partial<ConstructorParameters<typeof RpcClient>[0]> = {},
) {
  const client = new RpcClient({ host: '127.0.0.1', port, timeoutMs: 5000, reconnectDelayMs: { initial: 10, max: 100 }, ...extra });
  t.teardown(() => client.close());
  return client;
}

async function peerFor(t: { teardown(fn: () => unknown): void }) {
  const peer = await startFakeRpcPeer();
  t.teardown(() => peer.close());
  return peer;
}

t.test('a call with no reply times out with an error naming the procedure and the server', async (t) => {
  const peer = await peerFor(t);
  const client = newClient(t, peer.port, { timeoutMs: 150 });
  await t.rejects(client.call(PROG, VERS, 3, null, null, { timeoutMs: 200 }), {
    name: 'RpcTimeoutError',
    message: new RegExp(`^program 200000 v1 procedure 3 to 127\\.0\\.0\\.1:${peer.port} got no reply within 200 ms$`),
  });
  await t.rejects(client.call(100003, 3, 1, null, null), { message: /^NFS v3 GETATTR to .* within 150 ms$/ }, 'the default timeout');
  t.equal(peer.calls.length, 2, 'TCP calls are not resent on the same connection');
});

t.test('nobody listening: the call keeps retrying until its timeout, which says why', async (t) => {
  const client = newClient(t, await freePort());
  await t.rejects(client.call(PROG, VERS, 0, null, null, { timeoutMs: 300 }), {
    name: 'RpcTimeoutError',
    message: /got no reply within 300 ms; the connection is down \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)/,
  });
});

t.test('a peer that accepts and hangs up at once is retried with backoff until the call times out', async (t) => {
  const peer = await peerFor(t);
  let connections = 0;
  peer.onConnection = (socket) => {
    connections++;
    socket.destroy();
  };
  const client = newClient(t, peer.port, { reconnectDelayMs: { initial: 20, max: 80 } });
  await t.rejects(client.call(PROG, VERS, 0, null, null, { timeoutMs: 600 }), RpcTimeoutError);
  // 20, 40, 80, 80, ... ms apart: about 9 attempts in 600 ms; without backoff there would be hundreds.
  t.ok(connections >= 3 && connections <= 15, `${connections} connection attempts in 600 ms`);
  const settled = connections;
  await delay(300);
  t.equal(connections, settled, 'no reconnecting once no call is waiting');
});

t.test('reconnecting through a long outage adds no listener per attempt (no MaxListenersExceededWarning)', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const peer = await peerFor(t);
  let connections = 0;
  peer.onConnection = (socket) => {
    connections++;
    socket.destroy();
  };
  const client = newClient(t, peer.port, { reconnectDelayMs: { initial: 1, max: 2 } });
  const call = client.call(PROG, VERS, 0, null, null, { timeoutMs: 120_000 }).catch((err: Error) => err);
  while (connections < 40) await delay(10);
  await client.close();
  t.type(await call, RpcConnectionError, 'closing ends the waiting call');
  await delay(0); // warnings are emitted on the next tick
  t.same(
    warnings.map((w) => `${w.name}: ${w.message}`),
    [],
    `no warning after ${connections} reconnects`,
  );
});

t.test('the connection is made lazily, shared, and made again after the peer closes an idle one', async (t) => {
  const peer = await peerFor(t);
  peer.onCall = (call) => call.socket.write(frame(successReply(call.xid)));
  const client = newClient(t, peer.port);
  await delay(50);
  t.equal(peer.remotePorts.length, 0, 'no connection before the first call');
  await client.call(PROG, VERS, 0, null, null);
  await client.call(PROG, VERS, 0, null, null);
  t.equal(peer.remotePorts.length, 1, 'calls share one connection');
  peer.calls[0]!.socket.end();
  await delay(50);
  t.equal(peer.remotePorts.length, 1, 'no reconnect while idle');
  await client.call(PROG, VERS, 0, null, null);
  t.same(
    peer.calls.map((c) => c.connection),
    [1, 1, 2],
    'a new connection for the next call',
  );
});

t.test('close() fails pending calls with RpcConnectionError, stops reconnecting, and refuses new calls', async (t) => {
  const peer = await peerFor(t);
  const client = new RpcClient({ host: '127.0.0.1', port: peer.port, reconnectDelayMs: { initial: 10, max: 10 } });
  const pending = client.call(100005, 3, 1, null, (w) => w.string('/x'));
  await delay(50);
  t.equal(peer.calls.length, 1);
  let connections = 0;
  peer.onConnection = () => connections++;
  for (const c of peer.calls) c.socket.destroy(); // the client starts reconnecting...
  await client.close(); // ...and stops
  await t.rejects(pending, { name: 'RpcConnectionError', message: /closed before MOUNT v3 MNT completed/ });
  await t.rejects(client.call(PROG, VERS, 0, null, null), RpcConnectionError);
  await delay(100);
  t.equal(connections, 0, 'no connection after close');
  await client.close();
});

t.test('bad arguments reject the call and send nothing', async (t) => {
  const peer = await peerFor(t);
  const client = newClient(t, peer.port);
  await t.rejects(client.call(PROG, VERS, 0, { uid: -1, gid: 0, gids: [] }, null), RangeError);
  await t.rejects(
    client.call(PROG, VERS, 0, null, (w) => void w.uint32(-1)),
    { name: 'XdrError' },
  );
  await t.rejects(client.call(PROG, VERS, 0, null, null, { timeoutMs: 0 }), RangeError);
  await delay(50);
  t.equal(peer.calls.length, 0);
});

t.test(
  'a peer that stops reading: the client buffers a bounded amount, then all large calls (data by reference) complete intact',
  async (t) => {
    const peer = await peerFor(t);
    let paused: Socket | undefined;
    peer.onConnection = (socket) => {
      socket.pause();
      paused = socket;
    };
    peer.onCall = (call) => call.socket.write(frame(successReply(call.xid, createHash('sha256').update(call.args).digest())));
    const client = newClient(t, peer.port, { timeoutMs: 30_000 });
    const payloads = Array.from({ length: 24 }, (_, i) => Buffer.alloc(1024 * 1024, i + 1));
    const calls = payloads.map((p) => client.call(PROG, VERS, 7, null, (w) => w.opaqueByReference(p)));
    await delay(300);
    const socket = (client as unknown as { socket?: Socket }).socket;
    t.ok(socket, 'connected');
    // 24 MiB were asked to go; the kernel holds a few MiB, the client at most its 1 MiB mark plus one call.
    t.ok(socket!.writableLength <= 2 * 1024 * 1024 + 4096, `${socket!.writableLength} bytes buffered in the client`);
    paused!.resume();
    const replies = await Promise.all(calls);
    replies.forEach((r, i) => {
      const expected = createHash('sha256').update(new XdrWriter().opaque(payloads[i]!).bytes()).digest();
      t.ok(r.fixedOpaque(32).equals(expected), `call ${i} arrived intact`);
    });
  },
);

t.test('a call whose data goes by reference is sent again after a reconnect with the same bytes and xid', async (t) => {
  const peer = await peerFor(t);
  peer.onCall = (call) => {
    if (call.connection === 1) call.socket.destroy();
    else call.socket.write(frame(successReply(call.xid)));
  };
  const client = newClient(t, peer.port);
  const data = Buffer.from(Array.from({ length: 256 * 1024 + 3 }, (_, i) => (i * 11) & 255));
  await client.call(PROG, VERS, 7, null, (w) => w.uint32(42).opaqueByReference(data).uint32(43));
  t.same(
    peer.calls.map((c) => c.connection),
    [1, 2],
  );
  const [first, second] = peer.calls;
  t.equal(second!.xid, first!.xid, 'the same xid');
  t.ok(second!.args.equals(first!.args), 'the same bytes');
  t.ok(first!.args.equals(new XdrWriter().uint32(42).opaque(data).uint32(43).bytes()), 'as a copying encoder writes them');
});

/** Runs test/helpers/rpc-client-child.ts; resolves with its output once it exits, or fails if it lingers. */
/**
 * Runs the child client in `mode`. `withoutBindPrivilege`: still root (the checkout may be readable by root alone,
 * as in a mktemp -d directory), but without CAP_NET_BIND_SERVICE, so ports below 1024 cannot be bound.
 */
function runChild(t: { teardown(fn: () => unknown): void }, mode: string, port: number, { withoutBindPrivilege = false } = {}) {
  const node = [process.execPath, '--import', 'tsx', CHILD, mode, String(port)];
  const command = withoutBindPrivilege
    ? ['setpriv', '--bounding-set', '-net_bind_service', '--inh-caps', '-net_bind_service', ...node]
    : node;
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const lingering = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, out: `${out}[still running after 10 s: killed]` });
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(lingering);
      resolve({ code, out: out.trim() });
    });
  });
}

t.test('an idle client, a timed-out call and a closed client do not keep the process alive', async (t) => {
  const peer = await peerFor(t);
  peer.onCall = (call) => {
    if (call.procedure === 0 && call.args.length === 0 && peer.calls.length === 1) call.socket.write(frame(successReply(call.xid)));
  };
  t.same(await runChild(t, 'idle', peer.port), { code: 0, out: 'replied' }, 'idle, never closed');
  t.match(await runChild(t, 'timeout', peer.port), { code: 0, out: /^RpcTimeoutError: / });
  t.match(await runChild(t, 'close-pending', peer.port), { code: 0, out: /^RpcConnectionError: / });
  t.match(await runChild(t, 'timeout', await freePort()), { code: 0, out: /^RpcTimeoutError: .*ECONNREFUSED/ }, 'while reconnecting');
});

t.test('privilegedPort connects from a port below 1024, also after a reconnect', async (t) => {
  const peer = await peerFor(t);
  peer.onCall = (call) => {
    if (call.connection === 1) call.socket.destroy();
    else call.socket.write(frame(successReply(call.xid)));
  };
  const client = newClient(t, peer.port, { privilegedPort: true });
  await client.call(PROG, VERS, 0, null, null);
  t.equal(peer.remotePorts.length, 2);
  t.ok(
    peer.remotePorts.every((p) => p >= 512 && p < 1024),
    `source ports ${peer.remotePorts.join(', ')}`,
  );
  t.same(new Set(peer.calls.map((c) => c.xid)).size, 1, 'the same xid on both connections');
});

t.test('privilegedPort without the privilege fails at once with a clear error', async (t) => {
  const peer = await peerFor(t);
  const { code, out } = await runChild(t, 'privileged', peer.port, { withoutBindPrivilege: true });
  t.equal(code, 0);
  t.match(
    out,
    /^RpcConnectionError: cannot bind a privileged source port \(below 1024\) to reach 127\.0\.0\.1:\d+: EACCES; run kidfs as root/,
  );
  t.equal(peer.remotePorts.length, 0);
});
