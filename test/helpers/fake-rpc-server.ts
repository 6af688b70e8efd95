// A loopback TCP peer that speaks just enough ONC RPC to answer calls with crafted results, for protocol fault tests.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Test } from 'tap';
import { Nfs3Client } from '../../src/nfs/nfs3-client.ts';
import { RpcClient } from '../../src/nfs/rpc-client.ts';
import { RecordDecoder, encodeRecord } from '../../src/nfs/record-marking.ts';
import { XdrReader, XdrWriter } from '../../src/nfs/xdr.ts';

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
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new RecordDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const record of decoder.push(chunk)) {
        const r = new XdrReader(record);
        const xid = r.uint32();
        r.uint32(); // CALL
        r.uint32(); // RPC version
        const program = r.uint32();
        const version = r.uint32();
        const procedure = r.uint32();
        for (let i = 0; i < 2; i++) {
          r.uint32(); // credential, then verifier: flavor and body
          r.opaque();
        }
        const call = { program, version, procedure, args: r };
        calls.push(call);
        const w = new XdrWriter();
        w.uint32(xid).uint32(1).uint32(0).uint32(0).uint32(0).uint32(0); // REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS
        if (handler(call, w) === false) continue;
        for (const part of encodeRecord(Buffer.from(w.bytes()))) socket.write(part);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A fake peer and an Nfs3Client talking to it through the real RpcClient, both closed in the test's teardown. */
export async function fakeNfsClient(t: Test, handler: FakeHandler): Promise<{ fake: FakeRpcServer; client: Nfs3Client }> {
  const fake = await startFakeRpcServer(handler);
  t.teardown(() => fake.close());
  const transport = new RpcClient({ host: '127.0.0.1', port: fake.port, timeoutMs: 5000 });
  t.teardown(() => transport.close());
  return { fake, client: new Nfs3Client(transport) };
}
