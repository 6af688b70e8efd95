// Serves GET /metrics (Prometheus text format) on the address [metrics] listen or --metrics-listen names.
import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import type { ListenAddress } from '../config/index.ts';

export interface MetricsServer {
  /** Where it listens (the port it got, when 0 was asked). */
  readonly address: ListenAddress;
  stop(): Promise<void>;
}

export async function startMetricsServer(listen: ListenAddress, registry: Registry): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('kidfs serves GET /metrics only\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect the metrics: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot serve metrics on ${listen.host}:${listen.port}: ${err.code ?? err.message}`)),
    );
    server.listen(listen.port, listen.host, resolve);
  });
  server.unref();
  const { port } = server.address() as { port: number };
  return {
    address: { host: listen.host, port },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
