// [metrics]: where a kidfs process serves Prometheus metrics (GET /metrics).
import { SectionReader, type ConfigSection } from '../config-section.ts';
import { ValueProblem } from '../values.ts';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface MetricsConfig {
  /** undefined: no metrics endpoint (the default; the manifests turn it on for the daemons). */
  readonly listen: ListenAddress | undefined;
}

/** `host:port`, `[v6]:port` or `:port` (every address). */
export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || !(port >= 1 && port <= 65535)) {
    throw new ValueProblem(`${JSON.stringify(value)} is not an address to listen on: write host:port, [v6 address]:port or :port`);
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

/** The other way round: `host:port`, `[v6]:port`. */
export function formatListenAddress({ host, port }: ListenAddress): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export const metricsSection: ConfigSection<MetricsConfig> = {
  name: 'metrics',
  parse(section, context) {
    const read = new SectionReader('metrics', section, context, ['listen']);
    return { listen: read.get('listen', (v): ListenAddress | undefined => parseListenAddress(v), undefined) };
  },
};
