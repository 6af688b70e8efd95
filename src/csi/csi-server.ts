// A gRPC server on a unix socket serving CSI services (Identity plus Node or Controller).
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { csiServices, type CsiServices } from './csi-proto.ts';
import { unixSocketPath } from './endpoint.ts';
import { unaryService, type UnaryMethods } from './unary-service.ts';

export interface CsiServer {
  readonly socketPath: string;
  /** Stops accepting calls, lets running ones finish (at most `graceMs`), removes the socket. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Listens on `endpoint` (unix:///path). A socket file left by an earlier process is replaced, as CSI
 * drivers do: kubelet and the sidecars reconnect to the path.
 */
export async function startCsiServer(
  endpoint: string,
  services: Partial<Record<keyof CsiServices, UnaryMethods>>,
  log: (line: string) => void,
): Promise<CsiServer> {
  const socketPath = unixSocketPath(endpoint);
  await mkdir(dirname(socketPath), { recursive: true });
  await rm(socketPath, { force: true });
  const server = new Server();
  const definitions = csiServices();
  for (const [name, methods] of Object.entries(services) as [keyof CsiServices, UnaryMethods][]) {
    server.addService(
      definitions[name],
      unaryService(methods, (line) => log(`csi ${line}`)),
    );
  }
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  return {
    socketPath,
    async stop(graceMs = 5000) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await rm(socketPath, { force: true });
    },
  };
}
