// The audit stream: who mounted what, as whom, and who was refused. JSON lines ([log] audit-file, and/or stdout with
// "stream":"audit"), apart from the log: every publish, unpublish, remount, recovery and refusal, and every permission
// denial the NFS server answered (rate-limited per mount; how many were left out is recorded).
import { pino, stdTimeFunctions, type DestinationStream } from 'pino';
import type { LogConfig } from '../config/index.ts';
import { REDACTED_PATHS, scrubValue } from './secrets.ts';
import type { Component } from './logger.ts';

export type AuditEvent =
  | 'publish'
  | 'unpublish'
  | 'remount'
  | 'recovery'
  | 'revocation'
  | 'cleanup'
  | 'refusal'
  | 'mount'
  | 'unmount'
  | 'denial'
  | 'denials-dropped'
  | 'volume-created'
  | 'volume-deleted'
  | 'volume-refused';

/** What an audit record tells, as far as it is known: pod, identity, export, subDir, target, reason, operation, path. */
export type AuditFields = Readonly<Record<string, unknown>>;

export interface Audit {
  record(event: AuditEvent, fields: AuditFields): void;
  /** The denial recorder of one mount; `fields` (pod, identity, target) go into each of its records. */
  denials(fields: AuditFields): DenialRecorder;
}

export interface DenialRecorder {
  /** A permission denial the NFS server answered: EACCES, EPERM or EROFS. */
  denied(operation: string, path: string, errno: string): void;
  /** Records how many denials were left out, if any (at unmount). */
  close(): void;
}

const MINUTE_MS = 60_000;

/** Audit records go nowhere: no audit-file and no audit-stdout. */
export const NO_AUDIT: Audit = {
  record: () => undefined,
  denials: () => ({ denied: () => undefined, close: () => undefined }),
};

export function createAudit(component: Component, settings: Pick<LogConfig, 'auditFile' | 'auditStdout' | 'auditDenialsPerMinute'>): Audit {
  const streams: { stream: DestinationStream }[] = [];
  if (settings.auditFile) streams.push({ stream: pino.destination({ dest: settings.auditFile, append: true, mkdir: true, sync: true }) });
  if (settings.auditStdout) streams.push({ stream: pino.destination({ dest: 1, sync: true }) });
  if (streams.length === 0) return NO_AUDIT;
  const logger = pino(
    {
      base: { component },
      timestamp: stdTimeFunctions.isoTime,
      // In place of the level (an audit record has none): the field that tells it apart from log lines on stdout.
      formatters: { level: () => ({ stream: 'audit' }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    pino.multistream(streams),
  );
  const record = (event: AuditEvent, fields: AuditFields) => logger.info({ event, ...(scrubValue(fields) as object) });
  return {
    record,
    denials: (fields) => new RateLimitedDenials(record, fields, settings.auditDenialsPerMinute),
  };
}

/** At most `perMinute` denial records per minute; the rest are counted and the count recorded when the minute is over. */
class RateLimitedDenials implements DenialRecorder {
  private windowStart = Date.now();
  private recorded = 0;
  private dropped = 0;

  constructor(
    private readonly record: (event: AuditEvent, fields: AuditFields) => void,
    private readonly fields: AuditFields,
    private readonly perMinute: number,
  ) {}

  denied(operation: string, path: string, errno: string): void {
    if (Date.now() - this.windowStart >= MINUTE_MS) {
      this.flush();
      this.windowStart = Date.now();
      this.recorded = 0;
    }
    if (this.recorded >= this.perMinute) {
      this.dropped++;
      return;
    }
    this.recorded++;
    this.record('denial', { ...this.fields, operation, path, errno });
  }

  close(): void {
    this.flush();
  }

  private flush(): void {
    if (this.dropped === 0) return;
    this.record('denials-dropped', { ...this.fields, dropped: this.dropped, limitPerMinute: this.perMinute });
    this.dropped = 0;
  }
}
