// A loopback ONC RPC "server" whose replies each test crafts byte by byte, for protocol fault tests.
import { createServer, type Server, type Socket } from 'node:net';
import { encodeRecord, RecordReader } from '../../src/nfs/record-marking.ts';
import { XdrReader, XdrWriter } from '../../src/nfs/xdr.ts';

export interface ReceivedCall {
  readonly xid: number;
  readonly program: number;
  readonly version: number;
  readonly procedure: number;
  readonly credFlavor: number;
  readonly credBody: Buffer;
  readonly args: Buffer;
  /** 1 for the first connection the peer accepted, 2 for the next, ... */
  readonly connection: number;
  readonly socket: Socket;
}

export interface FakeRpcPeer {
  readonly port: number;
  /** Every call received, retransmissions included, in arrival order. */
  readonly calls: ReceivedCall[];
  /** Source ports of the accepted connections, in order. */
  readonly remotePorts: number[];
  /** Answers (or not) each call; replace it per test. */
  onCall: (call: ReceivedCall) => void;
  /** Called for each new connection, before any call on it. */
  onConnection: (socket: Socket, connection: number) => void;
  close(): Promise<void>;
}

export async function startFakeRpcPeer(onCall: (call: ReceivedCall) => void = () => {}): Promise<FakeRpcPeer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const peer: FakeRpcPeer = {
    port: 0,
    calls: [],
    remotePorts: [],
    onCall,
    onConnection: () => {},
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // the client under test may reset the connection
    peer.remotePorts.push(socket.remotePort ?? -1);
    peer.onConnection(socket, connection);
    const reader = new RecordReader((record) => {
      const r = new XdrReader(record);
      const xid = r.uint32();
      r.uint32(); // CALL
      r.uint32(); // rpcvers
      const program = r.uint32();
      const version = r.uint32();
      const procedure = r.uint32();
      const credFlavor = r.uint32();
      const credBody = Buffer.from(r.opaque(400));
      r.uint32();
      r.opaque(400);
      const call = {
        xid,
        program,
        version,
        procedure,
        credFlavor,
        credBody,
        args: Buffer.from(record.subarray(r.offset)),
        connection,
        socket,
      };
      peer.calls.push(call);
      peer.onCall(call);
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (peer as { port: number }).port = (server.address() as { port: number }).port;
  return peer;
}

/** A MSG_ACCEPTED / SUCCESS reply body (no record mark) carrying `results`. */
export function successReply(xid: number, results: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([new XdrWriter().uint32(xid).uint32(1).uint32(0).uint32(0).uint32(0).uint32(0).bytes(), results]);
}

/** A reply body built from 32-bit words after the xid. */
export function wordsReply(xid: number, ...words: number[]): Buffer {
  const w = new XdrWriter().uint32(xid);
  for (const v of words) w.uint32(v);
  return Buffer.from(w.bytes());
}

/** `body` with record marks, cut into fragments of `fragmentLength` bytes. */
export function frame(body: Buffer, fragmentLength?: number): Buffer {
  return Buffer.concat(encodeRecord(body, fragmentLength));
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
