// Reads a large file in order, 128 KiB at a time, as fast as it is let, and counts the bytes of the reads that ended
// within a window: argv <file> <warm-up ms> <window ms>. Prints {"bytes": N, "windowMs": W} and exits once the window
// has passed. For measuring a QoS rate from the reader's side.
import { open } from 'node:fs/promises';

const [file, warmUpMs, windowMs] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const handle = await open(file, 'r');
const buffer = Buffer.alloc(128 * 1024);
const start = performance.now();
const [from, to] = [start + warmUpMs, start + warmUpMs + windowMs];
let bytes = 0;
let position = 0;
for (;;) {
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
  if (bytesRead === 0) throw new Error(`${file} ended after ${position} bytes, before the window did`);
  position += bytesRead;
  const now = performance.now();
  if (now >= to) break;
  if (now >= from) bytes += bytesRead;
}
await handle.close();
process.stdout.write(`${JSON.stringify({ bytes, windowMs })}\n`);
