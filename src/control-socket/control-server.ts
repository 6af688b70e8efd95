// Serves the control socket: parses each request line, hands it to the daemon, writes the response line.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { asNodeError, invalidField } from '../csi/index.ts';
import { lineSplitter, type ControlRequest, type ControlResponse, type NodeStatus } from './control-protocol.ts';

export interface ControlHandler {
  mount(target: string, options: Readonly<Record<string, string>>): Promise<void>;
  unmount(target: string): Promise<void>;
  status(): Promise<NodeStatus>;
}

export interface ControlServer {
  readonly path: string;
  stop(): Promise<void>;
}

/**
 * Listens on `path` (its directory made 0700 if missing, the socket 0600). A socket file nobody answers on
 * is a leftover and replaced; one that answers belongs to a running daemon, and starting is refused.
 */
export async function startControlServer(path: string, handler: ControlHandler, log: (line: string) => void): Promise<ControlServer> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (await answers(path)) throw new Error(`another kidfs node daemon serves ${path}; stop it first`);
  await rm(path, { force: true });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reply = (response: ControlResponse) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
    };
    socket.on(
      'data',
      lineSplitter(
        (line) => void serve(line, handler).then(reply, (err: Error) => log(`control: ${err.message}`)),
        () => {
          reply({ id: 0, ok: false, code: 'INVALID_ARGUMENT', error: 'request line too long' });
          socket.end();
        },
      ),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return {
    path,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await rm(path, { force: true });
    },
  };
}

async function serve(line: string, handler: ControlHandler): Promise<ControlResponse> {
  let id = 0;
  try {
    const request = parseRequest(line);
    id = request.id;
    switch (request.op) {
      case 'mount':
        await handler.mount(request.target, request.options);
        return { id, ok: true };
      case 'unmount':
        await handler.unmount(request.target);
        return { id, ok: true };
      case 'status':
        return { id, ok: true, status: await handler.status() };
    }
  } catch (err) {
    const error = asNodeError(err);
    return { id, ok: false, code: error.code, error: error.message };
  }
}

function parseRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw invalidField('request', 'is not JSON');
  }
  const request = value as { id?: unknown; op?: unknown; target?: unknown; options?: unknown };
  if (typeof request !== 'object' || request === null) throw invalidField('request', 'is not a JSON object');
  if (typeof request.id !== 'number') throw invalidField('id', 'must be a number');
  const id = request.id;
  if (request.op === 'status') return { id, op: 'status' };
  if (request.op !== 'mount' && request.op !== 'unmount')
    throw invalidField('op', `${JSON.stringify(request.op)} is not mount, unmount or status`);
  if (typeof request.target !== 'string') throw invalidField('target', 'must be a string');
  if (request.op === 'unmount') return { id, op: 'unmount', target: request.target };
  const options = request.options;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidField('options', 'must be a JSON object');
  for (const [key, option] of Object.entries(options)) {
    if (typeof option !== 'string') throw invalidField(`options[${JSON.stringify(key)}]`, 'must be a string');
  }
  return { id, op: 'mount', target: request.target, options: options as Record<string, string> };
}

/** Whether something accepts connections on the socket path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
