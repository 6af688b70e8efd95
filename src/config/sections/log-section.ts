// [log]: how kidfs processes log (level, JSON or one readable line), and the audit stream: who mounted what, as whom,
// and who was refused.
import { resolve } from 'node:path';
import { SectionReader, type ConfigSection } from '../config-section.ts';
import { parseBoolean, parseChoice, ValueProblem } from '../values.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogConfig {
  readonly level: LogLevel;
  /** json: one JSON object per line; pretty: one readable line; auto: pretty when stderr is a terminal, else json. */
  readonly format: 'auto' | 'json' | 'pretty';
  /** Audit records (JSON lines) appended to this file (absolute); undefined: none to a file. */
  readonly auditFile: string | undefined;
  /** Audit records on stdout too (each has "stream":"audit", apart from the log on stderr). */
  readonly auditStdout: boolean;
  /** Permission denials one mount may record per minute; more are counted and the count recorded. */
  readonly auditDenialsPerMinute: number;
}

const keys = ['level', 'format', 'audit-file', 'audit-stdout', 'audit-denials-per-minute'] as const;

function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 1_000_000)
    throw new ValueProblem(`${JSON.stringify(value)} is not a whole number from 0 to 1000000`);
  return Number(value);
}

export const logSection: ConfigSection<LogConfig> = {
  name: 'log',
  parse(section, context) {
    const read = new SectionReader('log', section, context, keys);
    return {
      level: read.get('level', parseChoice(LOG_LEVELS), 'info'),
      format: read.get('format', parseChoice(['auto', 'json', 'pretty'] as const), 'auto'),
      auditFile: read.get('audit-file', (v): string | undefined => resolve(context.dir, v), undefined),
      auditStdout: read.get('audit-stdout', parseBoolean, false),
      auditDenialsPerMinute: read.get('audit-denials-per-minute', parseCount, 60),
    };
  },
};
