// Asks the node daemon one thing over its control socket (the CLI, the FlexVolume driver).
import { createConnection } from 'node:net';
import { NodeError } from '../csi/index.ts';
import { lineSplitter, type ControlRequest, type ControlResponse, type NodeStatus } from './control-protocol.ts';

/** Where `kidfs node` listens unless told otherwise. */
export const DEFAULT_CONTROL_SOCKET = '/run/kidfs/control.sock';

type Body = ControlRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** Sends one request; resolves with the status (for `status`) or nothing; rejects with the daemon's NodeError. */
export function controlRequest(path: string, body: Body, timeoutMs = 120_000): Promise<NodeStatus | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new NodeError('UNAVAILABLE', `the kidfs node daemon at ${path} did not answer within ${timeoutMs / 1000} s`)),
    );
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ' (is kidfs node running on this node?)' : '';
      fail(new NodeError('UNAVAILABLE', `cannot reach the kidfs node daemon at ${path}: ${err.code ?? err.message}${hint}`));
    });
    socket.on(
      'data',
      lineSplitter(
        (line) => {
          socket.end();
          let response: ControlResponse;
          try {
            response = JSON.parse(line) as ControlResponse;
          } catch {
            reject(new NodeError('INTERNAL', `the kidfs node daemon at ${path} answered something that is not JSON`));
            return;
          }
          if (response.ok) resolve(response.status);
          else reject(new NodeError(response.code, response.error));
        },
        () => fail(new NodeError('INTERNAL', `the kidfs node daemon at ${path} answered with an overlong line`)),
      ),
    );
    socket.once('connect', () => socket.write(`${JSON.stringify({ id: 1, ...body })}\n`));
  });
}
