/**
 * @module demo/ceremony
 * Runs a shipped ceremony script as a rehearsal, unattended, through core/ceremony's public runner
 * (the same `startCeremony` that `neam-ca ceremony run` calls): the answers come from text held in
 * memory, any question they do not answer fails the run (nobody is at a terminal), and every event
 * the people in the room would see goes to the stage's log file.
 *
 * Must never: ask a person anything, or write the answers (they hold passphrases) anywhere but the
 * DEMO-ONLY folder, which the caller does.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { answeringIo, fileTranscript, keyText, loadSite, parseAnswers, planCeremony, startCeremony, validateScript, type CeremonyIo, type RunSummary } from '../ceremony/index.ts';
import { CoreError, formatProblems } from '../errors.ts';
import { appendLog, type DemoContext } from './context.ts';
import { interrupted } from './processes.ts';

/** True when the ceremony script under the repository asks the question `key` (e.g. `token.so-pin`). */
export function scriptAsks(repo: string, script: string, key: string): boolean {
  const path = join(repo, script);
  const v = validateScript(readFileSync(path), path);
  return v.ok && planCeremony(v.script).questions.some((q) => q.key.join('.') === key);
}

/** One rehearsal run. */
export interface ScriptedCeremony {
  /** Path of the script under the repository (`ceremony-scripts/root.yaml`). */
  script: string;
  /** The answers (YAML text) and the name they are reported under. */
  answers: string;
  answersSource: string;
  /** Log file name under `logs/`. */
  logFile: string;
}

/**
 * Runs the ceremony to completion and returns the runner's summary.
 * @throws {CoreError} ERR_DEMO_INTERRUPTED when stopped by the signal; any ceremony error as is
 */
export async function runScriptedCeremony(ctx: DemoContext, c: ScriptedCeremony): Promise<RunSummary> {
  const scriptPath = join(ctx.repo, c.script);
  const scriptBytes = readFileSync(scriptPath);
  const v = validateScript(scriptBytes, scriptPath);
  if (!v.ok) throw new CoreError('ERR_CEREMONY_SCRIPT_INVALID', `${scriptPath} is not a valid ceremony script:\n${formatProblems(v.problems)}`);
  const sitePath = ctx.layout.offline.site;
  const { site, bytes: siteBytes } = loadSite(sitePath);
  const plan = planCeremony(v.script);
  const answers = parseAnswers(c.answers, c.answersSource, plan.questions, { rehearsal: true, names: site.participants.map((p) => p.name) });
  const log = (line: string): void => appendLog(ctx, c.logFile, line);
  const nobody: CeremonyIo = {
    source: 'neam-ca demo (unattended)',
    event: (e) => log(`${e.type === 'warning' ? 'WARNING: ' : e.type === 'step.failed' ? 'FAILED: ' : ''}${e.message}`),
    ask: (q) => Promise.reject(new CoreError('ERR_CEREMONY_ANSWERS_INVALID', `the demo's answers do not answer ${keyText(q.key)} (${q.prompt.trim()}); the shipped script asks something the demo does not know. Please report this`)),
    askSecret: (q) => Promise.reject(new CoreError('ERR_CEREMONY_ANSWERS_INVALID', `the demo's answers do not hold the secret ${keyText(q.key)}; please report this`)),
  };
  log(`# neam-ca demo: ${c.script} as a rehearsal, answers from ${c.answersSource}`);
  const summary = await startCeremony(
    { scriptBytes, scriptSource: scriptPath, siteBytes, siteSource: sitePath, siteBaseDir: dirname(sitePath), rehearsal: true },
    { io: answeringIo(answers, nobody), signal: ctx.signal, software: ctx.software, transcript: fileTranscript() },
  );
  if (summary.status !== 'completed') {
    if (ctx.signal.aborted) throw interrupted();
    throw new CoreError('ERR_DEMO_CHECK_FAILED', `the ${c.script} rehearsal stopped (${summary.status}); see ${join(ctx.layout.logs, c.logFile)} and 'neam-ca ceremony status ${summary.dir}'`);
  }
  return summary;
}
