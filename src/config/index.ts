// kidfs.ini -> one typed config, errors with file:line.
// The public face of this layer: what other layers may import (eslint.config.js allows nothing else).
export { isDnsLabel, isDnsSubdomain, parseNamespacedName, type NamespacedName } from './kube-names.ts';
export { loadConfig, type KidfsConfig } from './load-config.ts';
export { type GroupTable } from './sections/groups-section.ts';
export { type ServiceAccountRef } from './sections/identity-section.ts';
export { type KubernetesConfig } from './sections/kubernetes-section.ts';
export { type LogConfig } from './sections/log-section.ts';
export { formatListenAddress, parseListenAddress, type ListenAddress } from './sections/metrics-section.ts';
export { type MountConfig, type QosLimits } from './sections/mount-section.ts';
export { MAX_SUPPLEMENTARY_GROUPS, type StaticEntry } from './sections/static-section.ts';
export { MAX_ID, parseByteRate, parseDuration, parseOpRate, ValueProblem } from './values.ts';
