// Reads an INI file into sections of keys that remember their line numbers.
// Keys, values, quoting and inline comments follow the `ini` package's own rules (its line grammar and
// `unsafe`), so a value means here exactly what `ini` makes of it. `ini.decode` itself is not used: it
// drops line numbers, keeps only the last of duplicate keys, turns `true`/`false`/`null` into other types,
// nests sections with dots in their names and skips lines it cannot read; a config must refuse all of those.
import { unsafe } from 'ini';
import { ConfigError } from './config-error.ts';

export interface IniEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

export interface IniSection {
  readonly name: string;
  /** Line of the `[name]` header. */
  readonly line: number;
  readonly entries: readonly IniEntry[];
}

// The same grammar as ini.decode: `[section]` or `key = value`.
const sectionLine = /^\[([^\]]*)\]\s*$/;
const keyLine = /^([^=]+)(=(.*))?$/;

/** Sections in file order; each section name appears once (a repeated header is an error). */
export function readIniSections(text: string, file: string): IniSection[] {
  const sections: { name: string; line: number; entries: IniEntry[] }[] = [];
  let current: (typeof sections)[number] | undefined;
  const lines = text.split(/\r\n|\n|\r/);
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]!;
    const line = index + 1;
    if (/^\s*$/.test(raw) || /^\s*[;#]/.test(raw)) continue;
    const header = sectionLine.exec(raw.trim());
    if (header) {
      const name = unsafe(header[1]!);
      if (!/^[a-z][a-z0-9-]*$/.test(name)) {
        throw new ConfigError(file, line, `[${name}]`, 'section names are lower-case letters, digits and dashes');
      }
      const earlier = sections.find((s) => s.name === name);
      if (earlier) {
        throw new ConfigError(file, line, `[${name}]`, `section appears twice (first on line ${earlier.line}); merge them`);
      }
      current = { name, line, entries: [] };
      sections.push(current);
      continue;
    }
    if (raw.trim().startsWith('[')) {
      throw new ConfigError(file, line, '', `malformed section header ${JSON.stringify(raw.trim())}: write [name] alone on its line`);
    }
    const pair = keyLine.exec(raw);
    const key = pair ? unsafe(pair[1]!) : '';
    if (!pair || key === '') {
      throw new ConfigError(
        file,
        line,
        current ? `[${current.name}]` : '',
        `line ${JSON.stringify(raw.trim())} has no key: write key = value`,
      );
    }
    if (!current) {
      throw new ConfigError(file, line, key, 'key outside any section: put it under a [section] header');
    }
    const where = `[${current.name}] ${key}`;
    if (pair[2] === undefined) throw new ConfigError(file, line, where, 'no value: write key = value');
    if (key.endsWith('[]')) throw new ConfigError(file, line, where, 'array keys (key[]) are not used by kidfs');
    const earlier = current.entries.find((e) => e.key === key);
    if (earlier) {
      throw new ConfigError(file, line, where, `key appears twice in [${current.name}] (first on line ${earlier.line}); keep one`);
    }
    current.entries.push({ key, value: unsafe(pair[3]!), line });
  }
  return sections;
}
