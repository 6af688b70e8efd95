// Source files and checksums shared by the benchmark scripts: every copy they time is checked byte for byte.
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

const MiB = 1024 * 1024;

/** Writes `size` random bytes to `path`; resolves with their SHA-256. */
export async function makeSource(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  const block = Buffer.allocUnsafe(4 * MiB);
  try {
    for (let done = 0; done < size; done += block.length) {
      const part = block.subarray(0, Math.min(block.length, size - done));
      randomFillSync(part);
      hash.update(part);
      await file.write(part, 0, part.length, done);
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
