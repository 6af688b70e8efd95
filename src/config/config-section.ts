// What one config section is: a name and a parser from its lines to a typed value.
// A section is a small module (sections/*.ts); the loader lists them, refuses any other section,
// and each section refuses keys it does not know. Adding a section = adding a module to the list.
import { ConfigError } from './config-error.ts';
import type { IniEntry, IniSection } from './ini-lines.ts';
import { ValueProblem } from './values.ts';

export interface SectionContext {
  /** The config file as given, for messages. */
  readonly file: string;
  /** Its directory: relative paths in the file are relative to it. */
  readonly dir: string;
  /** Environment (NODE_NAME and the like). */
  readonly env: NodeJS.ProcessEnv;
}

export interface ConfigSection<T> {
  readonly name: string;
  /** Parses the section; `section` is undefined when the file has none (all defaults). */
  parse(section: IniSection | undefined, context: SectionContext): T;
}

/** Reads the keys of a section with fixed key names, refusing unknown ones (with a suggestion for typos). */
export class SectionReader {
  private readonly entries: ReadonlyMap<string, IniEntry>;

  constructor(
    private readonly sectionName: string,
    section: IniSection | undefined,
    private readonly context: SectionContext,
    knownKeys: readonly string[],
  ) {
    this.entries = new Map((section?.entries ?? []).map((e) => [e.key, e]));
    for (const entry of this.entries.values()) {
      if (!knownKeys.includes(entry.key)) {
        const hint = closest(entry.key, knownKeys);
        throw new ConfigError(
          context.file,
          entry.line,
          `[${sectionName}] ${entry.key}`,
          `unknown key${hint ? ` (did you mean ${hint}?)` : ''}; known keys: ${knownKeys.join(', ')}`,
        );
      }
    }
  }

  /** The key's parsed value, or `fallback` when absent or empty. */
  get<T>(key: string, parse: (value: string) => T, fallback: T): T {
    const entry = this.entries.get(key);
    if (!entry || entry.value === '') return fallback;
    return parseEntry(this.context, this.sectionName, entry, parse);
  }
}

/** Runs a parser on the entry's value (or `text`, e.g. its key), turning a ValueProblem into a ConfigError at its line. */
export function parseEntry<T>(
  context: SectionContext,
  section: string,
  entry: IniEntry,
  parse: (text: string) => T,
  text = entry.value,
): T {
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof ValueProblem) {
      throw new ConfigError(context.file, entry.line, `[${section}] ${entry.key}`, err.message);
    }
    throw err;
  }
}

/** The candidate within two edits of `word`, if any: enough for the usual typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
