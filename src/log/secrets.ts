// What never reaches a log or the audit stream: bound service-account tokens (JWTs) and secret fields, wherever they
// hide (a field, or text inside a message such as a copied volume context).

/** Field paths pino censors (fast-redact syntax: one level of wildcard). */
export const REDACTED_PATHS = [
  'token',
  'tokens',
  'password',
  'secret',
  'secrets',
  'authorization',
  '*.token',
  '*.tokens',
  '*.password',
  '*.secret',
  '*.secrets',
  '*.authorization',
  '*["csi.storage.k8s.io/serviceAccount.tokens"]',
  'volumeContext["csi.storage.k8s.io/serviceAccount.tokens"]',
];

/**
 * A JWT (header.payload.signature, base64url), or any long base64url run that starts like one: eyJ is '{"' encoded,
 * the start of every JWT header (and of other encoded JSON credentials).
 */
const JWT = /eyJ[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]*){0,2}/g;
/** "token":"..." in JSON text (the tokens attribute carries {"audience":{"token":"...","expirationTimestamp":...}}). */
const TOKEN_FIELD = /("token"\s*:\s*")[^"]*(")/g;

export function scrubSecrets(text: string): string {
  return text.replace(JWT, '[redacted token]').replace(TOKEN_FIELD, '$1[redacted]$2');
}

/** Strings anywhere in a value (objects and arrays walked), scrubbed; other values as they are. */
export function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error)
    return Object.assign(new Error(scrubSecrets(value.message)), { name: value.name, code: (value as { code?: unknown }).code });
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, depth + 1)]));
}
