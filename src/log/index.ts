// pino loggers, the audit stream, secret scrubbing.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { createAudit, NO_AUDIT, type Audit, type AuditEvent, type AuditFields, type DenialRecorder } from './audit.ts';
export { createLogger, lineLog } from './logger.ts';
