// Reads a kidfs process's Prometheus /metrics as a scraper would: samples by name, summed over matching labels.

export interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of `name` served at http://127.0.0.1:<port>/metrics. */
export async function scrape(port: number, name: string): Promise<Sample[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    samples.push({ labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of `name` over the series whose labels include `labels`; 0 when there is none. */
export async function metricValue(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await scrape(port, name)).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.reduce((sum, s) => sum + s.value, 0);
}
