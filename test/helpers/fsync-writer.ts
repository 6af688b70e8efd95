// A writer for crash tests, run in a process of its own inside a mount: writes block after block, fsyncs after each,
// and appends the block's number to an acknowledgement log (outside the mount) only once its fsync succeeded. The
// first failure is logged as `error <code>` and ends it. So the log lists exactly the data the file system promised.
//   node --import tsx test/helpers/fsync-writer.ts <file> <ack-log>
import { appendFileSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BLOCK_BYTES = 64 * 1024;
/** Stops after this many blocks (tests kill the daemon long before). */
const MAX_BLOCKS = 4096;

/** Block `index`: every 8 bytes hold the block number and the offset in the block, so a misplaced block shows. */
export function block(index: number): Buffer {
  const data = Buffer.alloc(BLOCK_BYTES);
  for (let offset = 0; offset < BLOCK_BYTES; offset += 8) {
    data.writeUInt32LE(index, offset);
    data.writeUInt32LE(offset, offset + 4);
  }
  return data;
}

/** The blocks the log says were acknowledged (0..n-1), and how the writer ended. */
export function readAcknowledged(log: string): { blocks: number; ended: string | undefined } {
  const lines = log.split('\n').filter(Boolean);
  const numbers = lines.filter((line) => /^\d+$/.test(line)).map(Number);
  numbers.forEach((n, i) => {
    if (n !== i) throw new Error(`acknowledgement log is out of order at line ${i}: ${n}`);
  });
  return { blocks: numbers.length, ended: lines.find((line) => !/^\d+$/.test(line)) };
}

function main(file: string, ackLog: string): void {
  const fd = openSync(file, 'w');
  for (let index = 0; index < MAX_BLOCKS; index++) {
    try {
      writeSync(fd, block(index), 0, BLOCK_BYTES, index * BLOCK_BYTES);
      fsyncSync(fd);
    } catch (err) {
      appendFileSync(ackLog, `error ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      return;
    }
    appendFileSync(ackLog, `${index}\n`);
  }
  appendFileSync(ackLog, 'done\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv[2]!, process.argv[3]!);
