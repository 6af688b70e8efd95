// A loopback ONC RPC peer (fake-rpc-peer) that answers each call with results a handler writes, for protocol fault tests.
import type { Test } from 'tap';
import { Nfs3Client, type Nfs3ClientOptions } from '../../src/nfs/nfs3-client.ts';
import { RpcClient } from '../../src/nfs/rpc-client.ts';
import { XdrReader, XdrWriter } from '../../src/nfs/xdr.ts';
import { frame, startFakeRpcPeer, successReply } from './fake-rpc-peer.ts';

export interface FakeCall {
  readonly program: number;
  readonly version: number;
  readonly procedure: number;
  /** The call's arguments, after the credential and verifier. */
  readonly args: XdrReader;
}

/** Writes the results of an accepted call (after accept_stat SUCCESS); returning false sends no reply. */
export type FakeHandler = (call: FakeCall, results: XdrWriter) => void | false;

export interface FakeRpcServer {
  readonly port: number;
  readonly calls: FakeCall[];
  close(): Promise<void>;
}

export async function startFakeRpcServer(handler: FakeHandler): Promise<FakeRpcServer> {
  const calls: FakeCall[] = [];
  const peer = await startFakeRpcPeer((received) => {
    const { program, version, procedure } = received;
    const call = { program, version, procedure, args: new XdrReader(received.args) };
    calls.push(call);
    const results = new XdrWriter();
    if (handler(call, results) === false) return;
    received.socket.write(frame(successReply(received.xid, results.bytes())));
  });
  return { port: peer.port, calls, close: () => peer.close() };
}

/** A fake peer and an Nfs3Client talking to it through the real RpcClient, both closed in the test's teardown. */
export async function fakeNfsClient(
  t: Test,
  handler: FakeHandler,
  clientOptions: Nfs3ClientOptions = {},
): Promise<{ fake: FakeRpcServer; client: Nfs3Client }> {
  const fake = await startFakeRpcServer(handler);
  t.teardown(() => fake.close());
  const transport = new RpcClient({ host: '127.0.0.1', port: fake.port, timeoutMs: 5000 });
  t.teardown(() => transport.close());
  return { fake, client: new Nfs3Client(transport, clientOptions) };
}
