// Another tenant's everyday operation, timed: open, read and close one file in its own mount, over and over, from a
// process of its own. argv: <file>. On a line on stdin it prints {count, medianMs, p99Ms, maxMs, failures} as JSON
// and exits.
import { readFile } from 'node:fs/promises';

const file = process.argv[2]!;
const times: number[] = [];
let failures = 0;
let stopping = false;
process.stdin.once('data', () => (stopping = true));

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
while (!stopping) {
  const start = performance.now();
  try {
    await readFile(file);
    times.push(performance.now() - start);
  } catch {
    failures++;
  }
  // A tenant going about its work, not a load of its own.
  await new Promise((resolve) => setTimeout(resolve, 5));
}
const sorted = [...times].sort((a, b) => a - b);
const round = (ms: number) => Math.round(ms * 10) / 10;
process.stdout.write(
  `${JSON.stringify({
    count: times.length,
    medianMs: round(quantile(sorted, 0.5)),
    p99Ms: round(quantile(sorted, 0.99)),
    maxMs: round(sorted.at(-1) ?? 0),
    failures,
  })}\n`,
);
process.exit(0);
