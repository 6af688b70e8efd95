// The node daemon's state directory: one JSON record per published mount (target, volume, pod, token, identity),
// written atomically, so a restarted daemon knows what it served and for whom. Root-only (0700 / 0600): records
// hold the pods' bound tokens for kidfs's audience.
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Identity } from '../identity/index.ts';
import { isTemporaryFile, removeFileDurably, writeFileAtomic } from './atomic-file.ts';
import type { PublishRequest } from './publish-request.ts';

export interface PublishRecord {
  readonly version: 1;
  readonly request: PublishRequest;
  /** The identity the mount was (last) made with. */
  readonly identity: Identity;
  /** When the mount was first published (ISO 8601). */
  readonly publishedAt: string;
}

export class PublishRecords {
  private constructor(readonly dir: string) {}

  /** Opens (creating) `<stateDir>/mounts`, mode 0700. */
  static async open(stateDir: string): Promise<PublishRecords> {
    const dir = join(stateDir, 'mounts');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    return new PublishRecords(dir);
  }

  /**
   * Every readable record. Left-over temporary files of an interrupted write are removed; a record that
   * cannot be read is renamed to `<file>.unreadable` and reported through `log`, so it is looked at once.
   */
  async loadAll(log: (line: string) => void): Promise<PublishRecord[]> {
    const records: PublishRecord[] = [];
    for (const name of (await readdir(this.dir)).sort()) {
      const path = join(this.dir, name);
      if (isTemporaryFile(name)) {
        await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        records.push(parseRecord(await readFile(path, 'utf8')));
      } catch (err) {
        log(`mount record ${path} cannot be read (${(err as Error).message}); moved aside to ${path}.unreadable`);
        await rename(path, `${path}.unreadable`);
      }
    }
    return records;
  }

  save(record: PublishRecord): Promise<void> {
    return writeFileAtomic(this.pathOf(record.request.target), `${JSON.stringify(record, null, 2)}\n`);
  }

  remove(target: string): Promise<void> {
    return removeFileDurably(this.pathOf(target));
  }

  /** One file per target; the name is a hash so any path fits. */
  pathOf(target: string): string {
    return join(this.dir, `${createHash('sha256').update(target).digest('hex').slice(0, 32)}.json`);
  }
}

function parseRecord(text: string): PublishRecord {
  const record = JSON.parse(text) as PublishRecord;
  const request = record?.request;
  if (record?.version !== 1) throw new Error(`version ${JSON.stringify(record?.version)} is not 1`);
  if (
    typeof request?.target !== 'string' ||
    typeof request.volumeId !== 'string' ||
    typeof request.export?.host !== 'string' ||
    typeof request.export.path !== 'string' ||
    typeof request.subDir !== 'string' ||
    typeof request.readOnly !== 'boolean'
  ) {
    throw new Error('request fields are missing');
  }
  if (typeof record.identity?.uid !== 'number' || typeof record.identity.gid !== 'number') throw new Error('identity is missing');
  return record;
}
