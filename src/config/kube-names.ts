// Kubernetes object names as the API server validates them, and the `<namespace>/<name>` references config uses.
import { ValueProblem } from './values.ts';

/** RFC 1123 label: namespaces (and so never a dot in one). */
export function isDnsLabel(name: string): boolean {
  return name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name);
}

/** RFC 1123 subdomain: service accounts, pods, config maps. */
export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(label));
}

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

/** `<namespace>/<name>`, both as the API server would accept them. */
export function parseNamespacedName(value: string, kind = 'name'): NamespacedName {
  const parts = value.split('/');
  if (parts.length !== 2) throw new ValueProblem(`${JSON.stringify(value)} is not <namespace>/<${kind}>`);
  const [namespace, name] = parts as [string, string];
  if (!isDnsLabel(namespace)) {
    throw new ValueProblem(`namespace ${JSON.stringify(namespace)} is not a valid Kubernetes namespace name`);
  }
  if (!isDnsSubdomain(name)) throw new ValueProblem(`${kind} ${JSON.stringify(name)} is not a valid Kubernetes name`);
  return { namespace, name };
}
