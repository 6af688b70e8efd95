// At mount time, a port where nothing listens is a mistake (wrong host, port or server down), not an outage to ride
// out: one plain TCP connect finds out at once. A live mount's connections retry instead (rpc-client.ts).
import { connect } from 'node:net';
import { RpcConnectionError } from './rpc-errors.ts';

/**
 * Rejects with RpcConnectionError when `host:port` refuses connections (ECONNREFUSED); resolves otherwise, also when
 * the connect does not complete within `timeoutMs` (a slow or filtered server is for the RPC calls' own timeouts).
 */
export function failIfRefused(host: string, port: number, what: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.once('connect', done);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNREFUSED') return done();
      clearTimeout(timer);
      const server = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      reject(new RpcConnectionError(`nothing listens on ${server} (the ${what}): connection refused`));
    });
  });
}
