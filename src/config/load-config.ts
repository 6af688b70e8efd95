// loadConfig(path): the kidfs INI file -> one typed, validated KidfsConfig, or a ConfigError naming file:line and key.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './config-error.ts';
import { closest, type ConfigSection, type SectionContext } from './config-section.ts';
import { readIniSections, type IniSection } from './ini-lines.ts';
import { groupsSection, type GroupTable } from './sections/groups-section.ts';
import { identitySection, type IdentityConfig } from './sections/identity-section.ts';
import { kubernetesSection, type KubernetesConfig } from './sections/kubernetes-section.ts';
import { logSection, type LogConfig } from './sections/log-section.ts';
import { metricsSection, type MetricsConfig } from './sections/metrics-section.ts';
import { mountSection, type MountConfig } from './sections/mount-section.ts';
import { MAX_SUPPLEMENTARY_GROUPS, staticSection, type StaticTable } from './sections/static-section.ts';

export interface KidfsConfig {
  /** The file it was read from, for messages. */
  readonly file: string;
  readonly static: StaticTable;
  readonly identity: IdentityConfig;
  readonly kubernetes: KubernetesConfig;
  readonly groups: GroupTable;
  readonly mount: MountConfig;
  readonly log: LogConfig;
  readonly metrics: MetricsConfig;
}

// Every section kidfs knows; any other is refused. Sections added later ([node], [csi]) go here.
const knownSections: readonly ConfigSection<unknown>[] = [
  staticSection,
  identitySection,
  kubernetesSection,
  groupsSection,
  mountSection,
  logSection,
  metricsSection,
];

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): KidfsConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, 0, '', `cannot read the config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseConfig(text, path, env);
}

/** The same as loadConfig for text already read; `file` names it in messages and anchors relative paths. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): KidfsConfig {
  const sections = readIniSections(text, file);
  const names = knownSections.map((s) => s.name);
  for (const section of sections) {
    if (!names.includes(section.name)) {
      const hint = closest(section.name, names);
      throw new ConfigError(
        file,
        section.line,
        `[${section.name}]`,
        `unknown section${hint ? ` (did you mean [${hint}]?)` : ''}; known sections: ${names.map((n) => `[${n}]`).join(', ')}`,
      );
    }
  }
  const context: SectionContext = { file, dir: dirname(file), env };
  const parse = <T>(module: ConfigSection<T>): T =>
    module.parse(
      sections.find((s) => s.name === module.name),
      context,
    );
  const config: KidfsConfig = {
    file,
    static: parse(staticSection),
    identity: parse(identitySection),
    kubernetes: parse(kubernetesSection),
    groups: parse(groupsSection),
    mount: parse(mountSection),
    log: parse(logSection),
    metrics: parse(metricsSection),
  };
  checkAcrossSections(config, sections);
  return config;
}

/** Rules that tie sections together; each error points at the line that has to change. */
function checkAcrossSections(config: KidfsConfig, sections: readonly IniSection[]): void {
  const lineOf = (section: string, key: string): number =>
    sections.find((s) => s.name === section)?.entries.find((e) => e.key === key)?.line ?? 0;
  const { minUid, unidentified, source } = config.identity;

  for (const [key, entry] of config.static) {
    if (entry.uid < minUid) {
      throw new ConfigError(config.file, entry.line, `[static] ${key}`, `uid ${entry.uid} is below [identity] min-uid ${minUid}`);
    }
    const added = [...config.groups.values()]
      .filter((g) => g.members.includes(key) || g.members.includes(`${entry.namespace}/*`))
      .map((g) => g.gid)
      .filter((gid) => gid !== entry.gid && !entry.groups.includes(gid));
    const total = entry.groups.length + new Set(added).size;
    if (total > MAX_SUPPLEMENTARY_GROUPS) {
      throw new ConfigError(
        config.file,
        entry.line,
        `[static] ${key}`,
        `${total} supplementary gids with its [groups] memberships; NFS (AUTH_SYS) carries at most ${MAX_SUPPLEMENTARY_GROUPS}`,
      );
    }
  }

  if (unidentified !== 'refuse' && source === 'static') {
    const key = `${unidentified.namespace}/${unidentified.serviceAccount}`;
    if (!config.static.has(key)) {
      throw new ConfigError(
        config.file,
        lineOf('identity', 'unidentified'),
        '[identity] unidentified',
        `${key} is not in [static] (with source = static, only [static] identities exist)`,
      );
    }
  }
}
