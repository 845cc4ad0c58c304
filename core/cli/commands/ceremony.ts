/**
 * @module cli/commands/ceremony
 * `neam-ca ceremony …`: validate a script (and its plan, site roster and answers file), run a
 * ceremony headless from a terminal or an answers file, resume it after a crash, abort it before the
 * point of no return, show its record, and check the air gap. Secrets are asked without echo; an
 * answers file may hold them only in rehearsals.
 *
 * Must never: take a secret from the command line, or print one.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import {
  abortCeremony,
  answeringIo,
  ceremonyJournal,
  ceremonyPlanOf,
  ceremonyStatus,
  describeOffending,
  fileTranscript,
  keyText,
  loadAnswers,
  loadSite,
  planCeremony,
  probeAirGap,
  readLimited,
  resumeCeremony,
  rosterProblems,
  startCeremony,
  validateAnswers,
  validateScript,
  MAX_SCRIPT_BYTES,
  type CeremonyIo,
  type CeremonyPlan,
  type CeremonyStatusView,
  type RunnerEnvironment,
  type RunSummary,
  type SiteConfig,
} from '../../ceremony/index.ts';
import { CoreError, formatProblems, type Problem } from '../../errors.ts';
import type { Secret } from '../../util/secret.ts';
import type { Command, CommandContext, OptionSpec } from '../command.ts';
import { table } from '../render.ts';

function software(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `neam-ca ${pkg.version}`;
}

/** The terminal as a ceremony interaction port: narration on stderr, questions on the terminal. */
export function terminalCeremonyIo(ctx: CommandContext): CeremonyIo {
  const noTerminal = (key: readonly string[]): CoreError =>
    new CoreError('ERR_CEREMONY_ANSWERS_INVALID', `the ceremony needs an answer to ${keyText(key)}, but the answers file has none and there is no terminal to ask. Add it to the answers file or run in a terminal`, { details: { key: keyText(key) } });
  return {
    source: 'terminal',
    event(e) {
      const prefix = e.type === 'warning' ? 'WARNING: ' : e.type === 'step.failed' ? 'FAILED: ' : '';
      ctx.out.status(`${prefix}${e.message}`);
    },
    async ask(q) {
      if (!ctx.prompt.interactive) throw noTerminal(q.key);
      if (q.help !== undefined) ctx.out.status(q.help);
      for (let attempt = 0; attempt < 5; attempt++) {
        const prompt = q.kind === 'choice' ? `${q.prompt}\n${q.choices.map((c, i) => `  ${i + 1}) ${c}`).join('\n')}\n> ` : q.prompt;
        const answer = (await ctx.prompt.line(prompt)).trim();
        if (q.kind === 'choice') {
          const n = Number(answer);
          const picked = Number.isInteger(n) && n >= 1 && n <= q.choices.length ? q.choices[n - 1] : q.choices.find((c) => c === answer);
          if (picked !== undefined) return picked;
          ctx.out.status(`Choose one of the numbers 1 to ${q.choices.length}.`);
          continue;
        }
        if (q.kind === 'confirm') {
          if (answer === q.expect) return answer;
          throw new CoreError('ERR_CEREMONY_STEP_FAILED', `not confirmed (expected '${q.expect}'); the ceremony stops here. Resume it when ready, or abort it`);
        }
        const err = q.validate?.(answer);
        if (err === undefined) return answer;
        ctx.out.status(err);
      }
      throw new CoreError('ERR_USAGE', `no valid answer to ${keyText(q.key)} after 5 attempts; the ceremony stops here and can be resumed`);
    },
    async askSecret(q) {
      if (!ctx.prompt.interactive) throw noTerminal(q.key);
      for (let attempt = 0; attempt < 3; attempt++) {
        const first: Secret = await ctx.prompt.secret(q.prompt);
        if (q.minLength !== undefined && first.length < q.minLength) {
          first.wipe();
          ctx.out.status(`It must be at least ${q.minLength} characters.`);
          continue;
        }
        if (q.confirm !== true) return first;
        const again = await ctx.prompt.secret('Type it again: ');
        const same = first.equals(again);
        again.wipe();
        if (same) return first;
        first.wipe();
        ctx.out.status('The two entries differ; try again.');
      }
      throw new CoreError('ERR_USAGE', `no valid entry for ${keyText(q.key)} after 3 attempts; the ceremony stops here and can be resumed`);
    },
  };
}

function environment(ctx: CommandContext, io: CeremonyIo): RunnerEnvironment {
  const fp = ctx.env['NEAM_CA_FAILPOINT'];
  const env: RunnerEnvironment = { io, signal: ctx.signal, software: software(), transcript: fileTranscript() };
  if (fp !== undefined && fp !== '') env.failpoint = fp;
  return env;
}

function ioWithAnswers(ctx: CommandContext, plan: CeremonyPlan, site: SiteConfig, rehearsal: boolean): CeremonyIo {
  const base = terminalCeremonyIo(ctx);
  const file = ctx.values['answers'];
  if (typeof file !== 'string') return base;
  const answers = loadAnswers(resolve(ctx.cwd, file), plan.questions, { rehearsal, names: site.participants.map((p) => p.name) });
  return answeringIo(answers, base);
}

function renderRun(s: RunSummary): string {
  const lines = [
    `${s.rehearsal ? 'REHEARSAL ' : ''}ceremony ${s.id}: ${s.status}`,
    `folder: ${s.dir}`,
    ...(s.tokenSerial === null ? [] : [`token serial: ${s.tokenSerial}`]),
  ];
  if (s.objects.length > 0) lines.push('', table(['KEY LABEL', 'ALGORITHM', 'KEY ID', 'SHA-256(SPKI)'], s.objects.map((o) => [o.label, o.algorithm ?? '-', o.keyId ?? '-', o.spkiSha256 ?? '-'])));
  if (s.outputs.length > 0) lines.push('', table(['OUTPUT', 'STEP', 'SHA-256'], s.outputs.map((o) => [o.name, o.step, o.sha256])));
  if (s.status === 'interrupted') lines.push('', `Continue with: neam-ca ceremony resume ${s.dir}`);
  return lines.join('\n');
}

/** Text for a ceremony's status. */
export function renderStatus(v: CeremonyStatusView): string {
  const lines = [
    `${v.rehearsal ? 'REHEARSAL ' : ''}ceremony ${v.id} (${v.type}): ${v.status}${v.status === 'aborted' ? ` at ${v.abortedAt ?? '?'}: ${v.abortReason ?? ''}` : ''}`,
    `title: ${v.title}`,
    `folder: ${v.dir}`,
    `script SHA-256: ${v.scriptSha256}`,
    `site SHA-256:   ${v.siteSha256}`,
    `token: '${v.token.label}' serial ${v.token.serial ?? '(not yet bound)'} via ${v.token.module}`,
    `point of no return: ${v.pointOfNoReturnCrossed ? 'crossed (abort no longer possible)' : 'not crossed (abort possible)'}`,
    '',
    table(
      ['#', 'STEP', 'ACTION', 'STATUS', 'TRY', 'SIGNED OFF BY'],
      v.steps.map((s) => [String(s.index + 1), `${s.id}${s.pointOfNoReturn ? ' (PONR)' : ''}`, s.action, s.status, String(s.attempt), s.signedBy.map((x) => `${x.participant} (${x.role})`).join(', ') || (s.signOff.length === 0 ? '-' : `needs ${s.signOff.join(', ')}`)]),
    ),
  ];
  if (v.objects.length > 0) lines.push('', table(['KEY LABEL', 'STATE', 'ALGORITHM', 'SHA-256(SPKI)'], v.objects.map((o) => [o.label, o.state, o.algorithm ?? '-', o.spkiSha256 ?? '-'])));
  if (v.status === 'running') lines.push('', `Next: ${v.next ?? '-'}. Continue with 'neam-ca ceremony resume ${v.dir}'${v.pointOfNoReturnCrossed ? '' : ` or stop with 'neam-ca ceremony abort ${v.dir} --reason TEXT'`}.`);
  return lines.join('\n');
}

function renderPlan(plan: CeremonyPlan): string {
  const s = plan.script;
  return [
    `${s.source}: valid ${s.type} ceremony script '${s.id}' — ${s.title}`,
    `SHA-256: ${s.sha256}`,
    `quorum: ${s.quorum.m} of ${s.quorum.n} (activation: ${s.quorum.activation})`,
    `roles: ${Object.entries(s.roles)
      .map(([r, spec]) => `${r} ≥ ${spec.min}${spec.max === undefined ? '' : ` ≤ ${spec.max}`}`)
      .join(', ')}`,
    `point of no return: ${plan.pointOfNoReturn === -1 ? 'none' : `step ${plan.pointOfNoReturn + 1} '${plan.steps[plan.pointOfNoReturn]!.step.id}'`}`,
    '',
    table(
      ['#', 'STEP', 'ACTION', 'SIGN-OFF', 'CREATES'],
      plan.steps.map((p, i) => [
        String(i + 1),
        `${p.step.id}${p.pointOfNoReturn ? ' (PONR)' : ''}`,
        p.step.action,
        p.step.signOff.join(', ') || '-',
        [...p.plan.keyLabels.map((l) => `key ${l}`), ...p.plan.outputs].join(', ') || '-',
      ]),
    ),
  ].join('\n');
}

const answersOption: Record<string, OptionSpec> = {
  answers: { type: 'string', valueName: 'FILE', description: 'answers file driving the ceremony unattended (secrets and attestations only in rehearsals)' },
};

const validate: Command = {
  path: ['ceremony', 'validate'],
  summary: 'validate a ceremony script (every problem with its path and line) and print its plan',
  usage: 'SCRIPT [--site SITE] [--answers FILE] [--rehearsal]',
  description: 'Checks the script strictly and prints its SHA-256 (compare it with the reviewed copy) and plan. With --site, also checks the roster against the roles; with --answers, checks the answers file against the questions the ceremony asks.',
  positionals: { names: ['SCRIPT'], min: 1, max: 1 },
  options: {
    site: { type: 'string', valueName: 'SITE', description: 'site file to check against the script' },
    ...answersOption,
    rehearsal: { type: 'boolean', description: 'check the answers file as for a rehearsal' },
  },
  async run(ctx) {
    const path = resolve(ctx.cwd, ctx.positionals[0]!);
    const v = validateScript(readLimited(path, MAX_SCRIPT_BYTES, 'ceremony script'), path);
    if (!v.ok) {
      ctx.out.result({ valid: false, sha256: v.sha256, problems: v.problems }, () => `${path} is NOT a valid ceremony script (${v.problems.length} problem${v.problems.length === 1 ? '' : 's'}):\n${formatProblems(v.problems)}`);
      return 1;
    }
    const plan = planCeremony(v.script);
    const problems: Array<Problem & { file: string }> = [];
    let site: SiteConfig | undefined;
    const siteArg = ctx.values['site'];
    if (typeof siteArg === 'string') {
      site = loadSite(resolve(ctx.cwd, siteArg)).site;
      problems.push(...rosterProblems(v.script, site).map((p) => ({ ...p, file: site!.source })));
    }
    const answersArg = ctx.values['answers'];
    if (typeof answersArg === 'string') {
      const apath = resolve(ctx.cwd, answersArg);
      const opts = { rehearsal: ctx.values['rehearsal'] === true, ...(site === undefined ? {} : { names: site.participants.map((p) => p.name) }) };
      const a = validateAnswers(readLimited(apath, 256 * 1024, 'answers file'), apath, plan.questions, opts);
      if (!a.ok) problems.push(...a.problems.map((p) => ({ ...p, file: apath })));
    }
    const value = {
      valid: problems.length === 0,
      sha256: v.script.sha256,
      type: v.script.type,
      id: v.script.id,
      title: v.script.title,
      quorum: v.script.quorum,
      roles: v.script.roles,
      pointOfNoReturn: plan.pointOfNoReturn === -1 ? null : plan.steps[plan.pointOfNoReturn]!.step.id,
      steps: plan.steps.map((p) => ({ id: p.step.id, action: p.step.action, signOff: p.step.signOff, outputs: p.plan.outputs, keyLabels: p.plan.keyLabels, pointOfNoReturn: p.pointOfNoReturn })),
      questions: plan.questions.map((q) => ({ key: keyText(q.key), secret: q.secret, attestation: q.attestation, description: q.description })),
      problems,
    };
    ctx.out.result(value, () => `${renderPlan(plan)}${problems.length === 0 ? '' : `\n\nProblems:\n${problems.map((p) => `  - ${p.file}: ${p.path}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`).join('\n')}`}`);
    return problems.length === 0 ? 0 : 1;
  },
};

const run: Command = {
  path: ['ceremony', 'run'],
  summary: 'run a ceremony script on the site file\'s HSM (or a throwaway SoftHSM token with --rehearsal)',
  usage: 'SCRIPT --site SITE [--rehearsal] [--answers FILE] [--dir DIR]',
  description:
    "Runs the reviewed script step by step as a persisted state machine in a new ceremony folder under the site file's output-dir (rehearsals under output-dir/rehearsal/, with their own SoftHSM token). Questions are asked on the terminal (secrets without echo) unless the answers file holds them. If the run is interrupted or fails, continue with 'neam-ca ceremony resume DIR' or stop with 'neam-ca ceremony abort DIR'.",
  positionals: { names: ['SCRIPT'], min: 1, max: 1 },
  options: {
    site: { type: 'string', valueName: 'SITE', description: 'site file (module, token, output folder, participants)' },
    rehearsal: { type: 'boolean', description: 'rehearse on a throwaway SoftHSM token; air-gap check relaxed; everything marked rehearsal' },
    ...answersOption,
    dir: { type: 'string', valueName: 'DIR', description: 'exact ceremony folder to create (default: a new folder under the CA folder)' },
  },
  async run(ctx) {
    const siteArg = ctx.values['site'];
    if (typeof siteArg !== 'string') throw new CoreError('ERR_USAGE', '--site SITE is required: the site file names the HSM, the output folder and the people');
    const scriptPath = resolve(ctx.cwd, ctx.positionals[0]!);
    const sitePath = resolve(ctx.cwd, siteArg);
    const rehearsal = ctx.values['rehearsal'] === true;
    const scriptBytes = readLimited(scriptPath, MAX_SCRIPT_BYTES, 'ceremony script');
    const v = validateScript(scriptBytes, scriptPath);
    if (!v.ok) throw new CoreError('ERR_CEREMONY_SCRIPT_INVALID', `${scriptPath} is not a valid ceremony script (${v.problems.length} problem${v.problems.length === 1 ? '' : 's'}):\n${formatProblems(v.problems)}`, { details: { problems: v.problems } });
    const { site, bytes: siteBytes } = loadSite(sitePath);
    const plan = planCeremony(v.script);
    const io = ioWithAnswers(ctx, plan, site, rehearsal);
    const dirArg = ctx.values['dir'];
    const summary = await startCeremony(
      { scriptBytes, scriptSource: scriptPath, siteBytes, siteSource: sitePath, siteBaseDir: dirname(sitePath), rehearsal, ...(typeof dirArg === 'string' ? { dir: resolve(ctx.cwd, dirArg) } : {}) },
      environment(ctx, io),
    );
    ctx.out.result(summary, () => renderRun(summary));
    return summary.status === 'completed' ? 0 : 1;
  },
};

const resume: Command = {
  path: ['ceremony', 'resume'],
  summary: 'continue an interrupted or crashed ceremony after reconciling the HSM and files with its record',
  usage: 'DIR [--answers FILE]',
  positionals: { names: ['DIR'], min: 1, max: 1 },
  options: { ...answersOption },
  async run(ctx) {
    const dir = resolve(ctx.cwd, ctx.positionals[0]!);
    const { plan, site, rehearsal } = ceremonyPlanOf(dir);
    const summary = await resumeCeremony(dir, environment(ctx, ioWithAnswers(ctx, plan, site, rehearsal)));
    ctx.out.result(summary, () => renderRun(summary));
    return summary.status === 'completed' ? 0 : 1;
  },
};

const abort: Command = {
  path: ['ceremony', 'abort'],
  summary: 'abort a ceremony before its point of no return: destroy what it created on the token, record why',
  usage: 'DIR --reason TEXT [--answers FILE]',
  positionals: { names: ['DIR'], min: 1, max: 1 },
  options: { reason: { type: 'string', valueName: 'TEXT', description: 'why the ceremony is aborted (recorded)' }, ...answersOption },
  async run(ctx) {
    const reason = ctx.values['reason'];
    if (typeof reason !== 'string') throw new CoreError('ERR_USAGE', '--reason TEXT is required: an abort is recorded with its reason');
    const dir = resolve(ctx.cwd, ctx.positionals[0]!);
    const { plan, site, rehearsal } = ceremonyPlanOf(dir);
    const summary = await abortCeremony(dir, reason, environment(ctx, ioWithAnswers(ctx, plan, site, rehearsal)));
    ctx.out.result(summary, () =>
      [
        `ceremony ${summary.id} aborted: ${summary.reason}`,
        `destroyed: ${summary.destroyed.length === 0 ? 'nothing' : summary.destroyed.map((d) => `${d.label} (${d.class})`).join(', ')}`,
        `token ${summary.restored ? 'matches its inventory from before the ceremony' : 'does NOT match its inventory from before the ceremony: investigate'}`,
        ...(summary.tokenLeft === undefined ? [] : [summary.tokenLeft]),
      ].join('\n'),
    );
    return summary.restored ? 0 : 1;
  },
};

const status: Command = {
  path: ['ceremony', 'status'],
  summary: "show a ceremony's record: steps, sign-offs, outputs, keys (and the journal with --journal)",
  usage: 'DIR [--journal]',
  positionals: { names: ['DIR'], min: 1, max: 1 },
  options: { journal: { type: 'boolean', description: 'also print every journal entry' } },
  run(ctx) {
    const dir = resolve(ctx.cwd, ctx.positionals[0]!);
    const view = ceremonyStatus(dir);
    const journal = ctx.values['journal'] === true ? ceremonyJournal(dir) : undefined;
    ctx.out.result(journal === undefined ? view : { ...view, journal }, () =>
      journal === undefined ? renderStatus(view) : `${renderStatus(view)}\n\nJournal:\n${journal.map((e) => `  ${String(e.seq).padStart(4)} ${e.at} ${e.actor} (${e.role}) ${e.type}${e.step === null ? '' : ` [${e.step}]`} ${JSON.stringify(e.data)}`).join('\n')}`,
    );
    return Promise.resolve(0);
  },
};

const airGap: Command = {
  path: ['ceremony', 'air-gap'],
  summary: 'check that no network interface other than loopback is up (exit 1 naming them if any is)',
  async run(ctx) {
    const report = await probeAirGap();
    ctx.out.result(report, () =>
      [
        table(['INTERFACE', 'UP', 'LOOPBACK', 'FLAGS', 'ADDRESSES'], report.interfaces.map((i) => [i.name, i.unknown === true ? 'unknown' : i.up ? 'yes' : 'no', i.loopback ? 'yes' : 'no', i.flags.join(',') || '-', i.addresses.join(' ') || '-'])),
        '',
        report.ok ? `Air-gapped: no interface other than loopback is up (read via ${report.method}).` : `NOT air-gapped: ${describeOffending(report)}.`,
      ].join('\n'),
    );
    return report.ok ? 0 : 1;
  },
};

/** `neam-ca ceremony …` commands. */
export const CEREMONY_COMMANDS: Command[] = [validate, run, resume, abort, status, airGap];
