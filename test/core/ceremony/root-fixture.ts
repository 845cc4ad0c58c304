/**
 * Test fixture for the shipped ceremony scripts: a CA folder, five custodian media, two backup media,
 * the site file and the answers file of a 3-of-5 rehearsal, and where the runner puts ceremonies.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { tempDir } from '../../helpers/softhsm.ts';
import { cli, FIXTURES, REPO } from './fixture.ts';

/** The custodians' media folder names. */
export const CUSTODIANS = ['carol', 'dave', 'erin', 'frank', 'grace'];

export interface RootFixture {
  root: string;
  caDir: string;
  sitePath: string;
  answersPath: string;
  media: string;
  cleanup(): void;
}

/** A CA folder, five custodian media, two backup media, the site and answers files. */
export function makeRootFixture(): RootFixture {
  const { dir, cleanup } = tempDir('neam-root-');
  const media = join(dir, 'media');
  for (const c of CUSTODIANS) mkdirSync(join(media, c), { recursive: true });
  for (const b of ['1', '2']) mkdirSync(join(dir, 'backup', b), { recursive: true });
  const sitePath = join(dir, 'site.yaml');
  writeFileSync(sitePath, readFileSync(join(FIXTURES, 'site-root.template.yaml'), 'utf8').replaceAll('{{OUTPUT_DIR}}', join(dir, 'ca')));
  const answersPath = join(dir, 'answers.yaml');
  writeFileSync(answersPath, readFileSync(join(FIXTURES, 'root-answers.yaml'), 'utf8').replaceAll('{{MEDIA}}', media).replaceAll('{{BACKUP}}', join(dir, 'backup')));
  return { root: dir, caDir: join(dir, 'ca'), sitePath, answersPath, media, cleanup };
}

export function rootRun(fx: RootFixture, env: NodeJS.ProcessEnv = {}): ReturnType<typeof cli> {
  return cli(['ceremony', 'run', join(REPO, 'ceremony-scripts/root.yaml'), '--site', fx.sitePath, '--rehearsal', '--answers', fx.answersPath], { env });
}

export function ceremonyFolder(fx: RootFixture, script = 'root'): string {
  const base = join(fx.caDir, 'rehearsal', 'ceremonies');
  const found = readdirSync(base).filter((n) => n.endsWith(`-${script}-rehearsal`));
  if (found.length !== 1) throw new Error(`expected one ${script} ceremony in ${base}: ${readdirSync(base).join(', ')}`);
  return join(base, found[0]!);
}

