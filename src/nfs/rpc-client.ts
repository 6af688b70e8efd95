// ONC RPC over one TCP connection: many calls in flight matched by xid, reconnect with backoff, and
// retransmission of every unanswered call with its own xid (servers' duplicate request caches key on it).
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import { RecordReader } from './record-marking.ts';
import { RpcConnectionError, RpcProtocolError, RpcTimeoutError } from './rpc-errors.ts';
import { decodeReply, encodeCallRecord, replyXid, type ReplyContext } from './rpc-message.ts';
import { describeCall } from './rpc-names.ts';
import type { CallCredential, CallOptions, RpcTransport } from './rpc-transport.ts';
import type { RpcStats, ServerRpcStats } from './rpc-stats.ts';
import { connectTcp } from './tcp-connect.ts';
import type { XdrReader, XdrWriter } from './xdr.ts';

const debug = debuglog('kidfs-rpc');

export interface RpcClientOptions {
  readonly host: string;
  readonly port: number;
  /** Default time a call may take, across reconnects (default 60000). */
  readonly timeoutMs?: number;
  /** Connect from a source port below 1024 (needs root): for exports that require it. */
  readonly privilegedPort?: boolean;
  /** Wait before reconnect attempts: `initial` after the first failure, doubling up to `max` (default 50 → 2000). */
  readonly reconnectDelayMs?: { readonly initial: number; readonly max: number };
  /** Give up on one connection attempt after so long, then back off and retry (default 10000). */
  readonly connectTimeoutMs?: number;
  /** Where this client counts its calls, resends, reconnects and timeouts (for metrics). */
  readonly stats?: RpcStats;
}

interface PendingCall {
  readonly context: ReplyContext;
  /** The CALL record's pieces, written again as they are after a reconnect. */
  readonly record: Buffer[];
  readonly timeoutMs: number;
  /** The caller's buffer for the reply (CallOptions.replyInto). */
  readonly replyInto?: Buffer;
  timer?: NodeJS.Timeout;
  resolve(results: XdrReader): void;
  reject(err: Error): void;
}

/** Many small calls go out in one writev; past this much buffered, senders wait for 'drain'. */
const WRITE_HIGH_WATER_MARK = 1024 * 1024;

function checkMs(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff)
    throw new RangeError(`${what} must be a whole number of milliseconds from 1 to 2147483647, got ${v}`);
  return v;
}

export class RpcClient implements RpcTransport {
  /** "host:port" ("[v6]:port"), as errors name the server. */
  readonly server: string;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly privilegedPort: boolean;
  private readonly reconnectDelay: { readonly initial: number; readonly max: number };
  private readonly connectTimeoutMs: number;
  private readonly stats?: ServerRpcStats;
  /** A connection was made before: the next one is a reconnect. */
  private connectedBefore = false;

  private readonly pending = new Map<number, PendingCall>();
  private xid = randomInt(0, 0x100000000);
  /** The connected socket and the reader of its bytes; undefined while (re)connecting or idle. */
  private socket?: Socket;
  private reader?: RecordReader;
  /** A connection attempt, or the wait before one, is underway. */
  private connecting = false;
  private reconnectTimer?: NodeJS.Timeout;
  /** Connection failures since the last good reply: the backoff exponent. */
  private failures = 0;
  private lastConnectionError?: Error;
  /** Calls to write on the current socket, in order; emptied when it closes (all pending calls go again). */
  private sendQueue: PendingCall[] = [];
  private flushScheduled = false;
  private waitingForDrain = false;
  private closed = false;
  /**
   * Aborts the connection attempt underway when the client closes. One per attempt: a socket keeps its listener on
   * the signal it was given for as long as it lives, and every reconnect would add one to a shared signal.
   */
  private attemptAbort?: AbortController;

  constructor(options: RpcClientOptions) {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new RangeError(`RPC server port must be from 1 to 65535, got ${options.port}`);
    }
    this.host = options.host;
    this.port = options.port;
    this.server = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
    this.timeoutMs = checkMs('timeoutMs', options.timeoutMs ?? 60_000);
    this.privilegedPort = options.privilegedPort ?? false;
    const delay = options.reconnectDelayMs ?? { initial: 50, max: 2000 };
    this.reconnectDelay = { initial: checkMs('reconnectDelayMs.initial', delay.initial), max: checkMs('reconnectDelayMs.max', delay.max) };
    this.connectTimeoutMs = checkMs('connectTimeoutMs', options.connectTimeoutMs ?? 10_000);
    this.stats = options.stats?.of(this.server);
  }

  call(
    program: number,
    version: number,
    procedure: number,
    credential: CallCredential,
    encodeArgs: ((w: XdrWriter) => void) | null,
    options?: CallOptions,
  ): Promise<XdrReader> {
    if (this.closed) {
      return Promise.reject(
        new RpcConnectionError(`the RPC client for ${this.server} is closed: ${describeCall(program, version, procedure)} was not sent`),
      );
    }
    let context: ReplyContext;
    let record: Buffer[];
    let timeoutMs: number;
    try {
      timeoutMs = checkMs('timeoutMs', options?.timeoutMs ?? this.timeoutMs);
      context = { xid: this.nextXid(), program, version, procedure, credential, server: this.server };
      record = encodeCallRecord(context, encodeArgs);
    } catch (err) {
      return Promise.reject(err); // bad arguments or credential: nothing was sent
    }
    return new Promise<XdrReader>((resolve, reject) => {
      const call: PendingCall = { context, record, timeoutMs, replyInto: options?.replyInto, resolve, reject };
      // Unref'd: while calls are pending the socket or the reconnect timer keeps the process alive.
      call.timer = setTimeout(() => this.timeOut(call), timeoutMs).unref();
      this.pending.set(context.xid, call);
      if (this.stats) {
        const name = describeCall(program, version, procedure);
        this.stats.calls.set(name, (this.stats.calls.get(name) ?? 0) + 1);
      }
      if (this.socket) {
        this.socket.ref();
        this.sendQueue.push(call);
        this.scheduleFlush();
      } else {
        if (!this.connecting) this.failures = 0; // nobody was waiting: a fresh start, not a retry
        this.connectSoon();
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.attemptAbort?.abort();
    clearTimeout(this.reconnectTimer);
    for (const call of [...this.pending.values()]) {
      this.settle(call);
      const { program, version, procedure } = call.context;
      call.reject(
        new RpcConnectionError(
          `the RPC client for ${this.server} was closed before ${describeCall(program, version, procedure)} completed`,
        ),
      );
    }
    const socket = this.socket;
    this.socket = undefined;
    if (socket && !socket.closed) {
      await new Promise((resolve) => {
        socket.once('close', resolve);
        socket.destroy();
      });
    }
  }

  private nextXid(): number {
    do this.xid = (this.xid + 1) >>> 0;
    while (this.pending.has(this.xid));
    return this.xid;
  }

  /** Starts connecting unless already connected or on the way, after the backoff the failures so far call for. */
  private connectSoon(): void {
    if (this.socket || this.connecting || this.closed) return;
    this.connecting = true;
    const { initial, max } = this.reconnectDelay;
    const delay = this.failures === 0 ? 0 : Math.min(max, initial * 2 ** Math.min(this.failures - 1, 30));
    if (delay === 0) {
      void this.connect();
      return;
    }
    debug('%s: reconnecting in %d ms', this.server, delay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private async connect(): Promise<void> {
    let socket: Socket;
    // A new stream, a new reader; a reply finds its call by xid alone, whichever connection brought it.
    const reader = new RecordReader((record) => this.onRecord(record), {
      bufferFor: (_length, xid) => this.pending.get(xid)?.replyInto,
    });
    const attempt = (this.attemptAbort = new AbortController());
    try {
      socket = await connectTcp({
        host: this.host,
        port: this.port,
        privilegedPort: this.privilegedPort,
        timeoutMs: this.connectTimeoutMs,
        writableHighWaterMark: WRITE_HIGH_WATER_MARK,
        signal: attempt.signal,
        reader,
      });
    } catch (err) {
      this.connecting = false;
      if (this.closed) return;
      this.lastConnectionError = err as Error;
      if (this.stats) this.stats.connectFailures++;
      debug('%s: connect failed: %s', this.server, (err as Error).message);
      // Retrying cannot fix these: fail the calls now rather than at their timeouts.
      if (err instanceof RpcConnectionError) {
        for (const call of [...this.pending.values()]) {
          this.settle(call);
          call.reject(err);
        }
        return;
      }
      this.failures++;
      if (this.pending.size > 0) this.connectSoon();
      return;
    }
    this.connecting = false;
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.attach(socket, reader);
  }

  private attach(socket: Socket, reader: RecordReader): void {
    this.socket = socket;
    this.reader = reader;
    this.lastConnectionError = undefined;
    socket.on('drain', () => {
      if (this.socket !== socket) return;
      this.waitingForDrain = false;
      this.flush();
    });
    // A garbled stream (RecordMarkingError) cannot be resynchronised: the reader's error destroys the socket, and
    // the pending calls go again on a new connection.
    socket.on('error', (err) => {
      debug('%s: connection error: %s', this.server, err.message);
      if (this.socket === socket) this.lastConnectionError = err;
    });
    socket.on('close', () => this.onClose(socket));
    if (this.pending.size === 0) socket.unref();
    this.waitingForDrain = false;
    this.sendQueue = [...this.pending.values()];
    if (this.stats && this.connectedBefore) {
      this.stats.reconnects++;
      this.stats.resent += this.sendQueue.length;
    }
    this.connectedBefore = true;
    this.flush();
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.reader = undefined;
    this.sendQueue = [];
    this.waitingForDrain = false;
    if (this.closed) return;
    this.failures++;
    debug('%s: connection closed with %d calls pending', this.server, this.pending.size);
    if (this.pending.size > 0) this.connectSoon();
  }

  private onRecord(record: Buffer): void {
    const xid = replyXid(record);
    const call = xid === undefined ? undefined : this.pending.get(xid);
    if (!call) {
      debug('%s: dropping a reply of %d bytes with unknown xid %s', this.server, record.length, xid);
      return;
    }
    this.settle(call, true);
    let results: XdrReader;
    try {
      results = decodeReply(record, call.context);
    } catch (err) {
      if (!(err instanceof RpcProtocolError)) this.failures = 0;
      call.reject(err as Error);
      return;
    }
    this.failures = 0;
    call.resolve(results);
  }

  /**
   * Calls made in this turn of the event loop go out together once its callbacks are done: after the answers they
   * give (a FUSE reply lets the kernel send the next request while a 1 MiB WRITE is copied into the socket).
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes queued calls in one corked batch until the socket's buffer is full; 'drain' resumes. */
  private flush(): void {
    const socket = this.socket;
    if (!socket || this.waitingForDrain || this.sendQueue.length === 0) return;
    let sent = 0;
    socket.cork();
    try {
      while (sent < this.sendQueue.length) {
        const call = this.sendQueue[sent++]!;
        if (this.pending.get(call.context.xid) !== call) continue; // settled while queued
        for (const piece of call.record) socket.write(piece);
        if (socket.writableNeedDrain) {
          this.waitingForDrain = true;
          break;
        }
      }
    } finally {
      this.sendQueue.splice(0, sent);
      socket.uncork();
    }
  }

  /** The reader stops filling `buffer`; when the socket's next read is already aimed into it, the socket goes. */
  private takeBack(buffer: Buffer): void {
    const socket = this.socket;
    if (!socket || this.reader?.detach(buffer) !== false) return; // a closed socket reads nothing more
    socket.destroy(
      new RpcConnectionError(`a reply from ${this.server} was abandoned while being read into its caller's buffer; reconnecting`),
    );
  }

  private timeOut(call: PendingCall): void {
    if (this.pending.get(call.context.xid) !== call) return;
    this.settle(call);
    const { program, version, procedure } = call.context;
    if (this.stats) this.stats.timeouts++;
    const down = this.socket ? '' : `; the connection is down (${this.lastConnectionError?.message ?? 'connecting'})`;
    call.reject(
      new RpcTimeoutError(
        `${describeCall(program, version, procedure)} to ${this.server} got no reply within ${call.timeoutMs} ms${down}`,
        this.socket ? undefined : { cause: this.lastConnectionError },
      ),
    );
  }

  /**
   * Forgets a call that is answered, failed or timed out; an idle client lets the process exit. A call settled other
   * than by its reply takes its reply buffer back from the reader first: a late reply must not write into it.
   */
  private settle(call: PendingCall, answered = false): void {
    clearTimeout(call.timer);
    this.pending.delete(call.context.xid);
    if (!answered && call.replyInto) this.takeBack(call.replyInto);
    if (this.pending.size > 0) return;
    this.socket?.unref();
    if (this.reconnectTimer) {
      // Nobody waits: connect again lazily, on the next call.
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.connecting = false;
    }
  }
}
