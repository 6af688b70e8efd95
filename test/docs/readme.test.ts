// The README as a clone has it: every relative link leads to a file of the repository (the design page is the
// project's own, docs/DESIGN.md), and the file-system name it gives is the one mounts show.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

t.test('every relative link and mentioned design page exists in the repository', async (t) => {
  const links = [...readme.matchAll(/\]\(([^)#\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
  t.ok(links.includes('docs/DESIGN.md'), 'the README links the design page');
  for (const link of links) t.ok(existsSync(join(root, link)), `${link} exists`);
  t.notMatch(readme, /\.\.\/shared\//, 'nothing outside the repository');
  const design = readFileSync(join(root, 'docs/DESIGN.md'), 'utf8');
  for (const [, link] of design.matchAll(/\]\(([^)#\s]+)\)/g)) t.ok(existsSync(join(root, 'docs', link!)), `docs/${link} exists`);
});

t.test("the fsname the README gives is the mounts' (kidfs:<ns>.<sa>@<host>:<path>, as test/mount/command checks)", async (t) => {
  t.match(readme, /fsname kidfs:<namespace>\.<serviceaccount>@<host>:<path>/);
  t.notMatch(readme, /kidfs:<namespace>\/<serviceaccount>/);
});
