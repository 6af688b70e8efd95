// Opens the TCP connection an RPC client runs over, from a privileged source port when the export asks for one.
import { connect, type Socket, type TcpNetConnectOpts } from 'node:net';
import { RpcConnectionError } from './rpc-errors.ts';

/** Takes the socket's bytes instead of 'data' events: the socket reads straight into the buffers it hands out. */
export interface SocketReader {
  /** Where the next read goes: the socket may fill any prefix of it. */
  nextBuffer(): Buffer;
  /** The last read got `bytes` bytes. Throwing destroys the socket with that error. */
  onRead(bytes: number): void;
}

export interface TcpConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Bind a source port below 1024 (root or CAP_NET_BIND_SERVICE): exports with `secure`/PrivilegedPort want it. */
  readonly privilegedPort: boolean;
  readonly timeoutMs: number;
  /** How many bytes the socket may buffer before write() asks the sender to wait for 'drain'. */
  readonly writableHighWaterMark: number;
  readonly signal: AbortSignal;
  /** Receives everything the connected socket reads (attempts that fail on a taken privileged port read nothing). */
  readonly reader: SocketReader;
}

// The range bindresvport(3) uses.
const HIGHEST_PRIVILEGED_PORT = 1023;
const LOWEST_PRIVILEGED_PORT = 512;

/**
 * A connected socket with TCP_NODELAY and keep-alive, reading into `options.reader`. Rejects with RpcConnectionError
 * when retrying cannot help (no permission for a privileged port, or all of them taken), with the socket's own error otherwise.
 */
export async function connectTcp(options: TcpConnectOptions): Promise<Socket> {
  if (!options.privilegedPort) return attempt(options, undefined);
  const target = `${options.host}:${options.port}`;
  for (let localPort = HIGHEST_PRIVILEGED_PORT; localPort >= LOWEST_PRIVILEGED_PORT; localPort--) {
    try {
      return await attempt(options, localPort);
    } catch (err) {
      const { code, syscall } = err as NodeJS.ErrnoException;
      // In use by a listener, or the same four-tuple is still in TIME_WAIT: the next port will do.
      if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL') continue;
      if (syscall === 'bind' && (code === 'EACCES' || code === 'EPERM')) {
        throw new RpcConnectionError(
          `cannot bind a privileged source port (below 1024) to reach ${target}: ${code}; ` +
            'run kidfs as root or with CAP_NET_BIND_SERVICE, or turn off privilegedPort if the export does not need it',
        );
      }
      throw err;
    }
  }
  throw new RpcConnectionError(
    `every privileged source port from ${HIGHEST_PRIVILEGED_PORT} down to ${LOWEST_PRIVILEGED_PORT} is in use: cannot reach ${target}`,
  );
}

function attempt(options: TcpConnectOptions, localPort: number | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // writableHighWaterMark reaches the stream.Duplex constructor; @types/node does not list it for connect().
    const socketOptions: TcpNetConnectOpts & { writableHighWaterMark: number } = {
      host: options.host,
      port: options.port,
      localPort,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 30_000,
      writableHighWaterMark: options.writableHighWaterMark,
      signal: options.signal,
      onread: {
        buffer: () => options.reader.nextBuffer(),
        callback: (bytes) => {
          try {
            options.reader.onRead(bytes);
          } catch (err) {
            socket.destroy(err as Error);
          }
          return true;
        },
      },
    };
    const socket = connect(socketOptions);
    const timer = setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error(`connect to ${options.host}:${options.port} timed out after ${options.timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      socket.destroy(err);
    }, options.timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve(socket);
    });
  });
}
