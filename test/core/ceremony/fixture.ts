/**
 * Test fixture for the ceremony runner: a temporary CA folder, a site file and an answers file made
 * from the templates in test/fixtures/ceremonies, an interaction port that answers from the file and
 * fails on any other question, and helpers to look at the rehearsal token.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { CoreError } from '../../../core/errors.ts';
import { answeringIo, ceremonyPlanOf, parseAnswers, planCeremony, parseScript, rehearsalSoftHsmDir, type CeremonyEvent, type CeremonyIo, type RunnerEnvironment, type StartOptions } from '../../../core/ceremony/index.ts';
import { openHsm } from '../../../core/hsm/index.ts';
import type { KeyDescription } from '../../../core/hsm/types.ts';
import { Secret } from '../../../core/util/secret.ts';
import { tempDir } from '../../helpers/softhsm.ts';

export const REPO = join(import.meta.dirname, '../../..');
export const FIXTURES = join(REPO, 'test/fixtures/ceremonies');
export const BIN = join(REPO, 'bin/neam-ca.mjs');

/** The user PIN the fixture answers give the rehearsal token. */
export const FIXTURE_USER_PIN = 'rehearsal-user-pin-0001';

export interface CeremonyFixture {
  root: string;
  /** The CA folder (site output-dir). */
  caDir: string;
  sitePath: string;
  answersPath: string;
  backupDir: string;
  cleanup(): void;
}

/** A temp folder with a site file and an answers file (placeholders filled, extra YAML appended). */
export function makeFixture(options: { answers?: string; answersExtra?: string; siteExtra?: string } = {}): CeremonyFixture {
  const { dir, cleanup } = tempDir('neam-ceremony-');
  const caDir = join(dir, 'ca');
  const backupDir = join(dir, 'backup');
  mkdirSync(backupDir);
  const sitePath = join(dir, 'site.yaml');
  writeFileSync(sitePath, readFileSync(join(FIXTURES, 'site.template.yaml'), 'utf8').replaceAll('{{OUTPUT_DIR}}', caDir) + (options.siteExtra ?? ''));
  const answersPath = join(dir, 'answers.yaml');
  writeFileSync(answersPath, readFileSync(join(FIXTURES, options.answers ?? 'keygen-answers.yaml'), 'utf8').replaceAll('{{BACKUP_DIR}}', backupDir) + (options.answersExtra ?? ''));
  return { root: dir, caDir, sitePath, answersPath, backupDir, cleanup };
}

/** An interaction port: answers from the file, records every event, refuses anything else. */
export function fileIo(answersText: string, source: string, questionsFrom: { scriptPath: string } | { dir: string }, rehearsal: boolean, events: CeremonyEvent[]): CeremonyIo {
  const plan = 'scriptPath' in questionsFrom ? planCeremony(parseScript(readFileSync(questionsFrom.scriptPath), questionsFrom.scriptPath)) : ceremonyPlanOf(questionsFrom.dir).plan;
  const answers = parseAnswers(answersText, source, plan.questions, { rehearsal });
  const strict: CeremonyIo = {
    source: 'test',
    event: (e) => events.push(e),
    ask: (q) => Promise.reject(new CoreError('ERR_CEREMONY_ANSWERS_INVALID', `test asked an unanswered question ${q.key.join('.')}`)),
    askSecret: (q) => Promise.reject(new CoreError('ERR_CEREMONY_ANSWERS_INVALID', `test asked an unanswered secret ${q.key.join('.')}`)),
  };
  return answeringIo(answers, strict);
}

/** Start options for a fixture script and the fixture's site file. */
export function startOptions(fx: CeremonyFixture, script: string, rehearsal = true, dir?: string): StartOptions {
  const scriptPath = join(FIXTURES, script);
  return {
    scriptBytes: readFileSync(scriptPath),
    scriptSource: scriptPath,
    siteBytes: readFileSync(fx.sitePath),
    siteSource: fx.sitePath,
    siteBaseDir: dirname(fx.sitePath),
    rehearsal,
    ...(dir === undefined ? {} : { dir }),
  };
}

/** A runner environment with a clean air gap (tests of everything but the air-gap check). */
export function env(io: CeremonyIo, extra: Partial<RunnerEnvironment> = {}): RunnerEnvironment {
  return { io, software: 'neam-ca test', ...extra };
}

/** The one ceremony folder under the fixture's rehearsal CA folder. */
export function onlyCeremony(fx: CeremonyFixture, rehearsal = true): string {
  const base = join(fx.caDir, ...(rehearsal ? ['rehearsal'] : []), 'ceremonies');
  const dirs = readdirSync(base);
  if (dirs.length !== 1) throw new Error(`expected one ceremony folder in ${base}, found ${dirs.join(', ')}`);
  return join(base, dirs[0]!);
}

/** Every key object on the rehearsal token (opened and closed here; the runner must not be running in-process). */
export function tokenObjects(fx: CeremonyFixture, label = 'neam-root', pin = FIXTURE_USER_PIN): KeyDescription[] {
  const hsm = openHsm({ softhsmDir: rehearsalSoftHsmDir(join(fx.caDir, 'rehearsal')) });
  try {
    const tokens = hsm.tokens().filter((t) => t.initialized && t.label === label);
    if (tokens.length === 0) return [];
    const s = hsm.openSession({ label, serial: tokens[0]!.serial });
    try {
      s.login(Secret.fromString(pin));
      return s.describeKeys();
    } finally {
      s.close();
    }
  } finally {
    hsm.close();
  }
}

/** Runs the CLI to completion. */
export function cli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): { code: number; stdout: string; stderr: string; signal: NodeJS.Signals | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...(options.env ?? {}) }, cwd: options.cwd, timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** Starts the CLI and returns the child (for external kills). */
export function cliChild(args: string[], extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
}
