/**
 * @module electron/host/yaml-check
 * What the workstation learns from one YAML file a person picked (a ceremony script or a site
 * file): its YAML syntax problems with line and column, and, when the syntax is sound, the
 * ceremony engine's own validation (strict keys, every problem with its dotted path and line), plus
 * a plain-data summary of a valid script (its plan) or site file (machine and people). The number
 * of problems returned is capped ({@link MAX_REPORTED_PROBLEMS}, with the total), because a file
 * with thousands of problems is not one a person reviews line by line.
 *
 * Pure and synchronous: `yaml-worker.ts` runs it off the main thread with a deadline
 * (`yaml-checker.ts`), because the YAML parser's work grows faster than the input on hostile text.
 * Must never: do I/O, or return more than {@link MAX_REPORTED_PROBLEMS} problems.
 */
import { isMap, LineCounter, parseAllDocuments, type Document } from 'yaml';

import { ACTIONS, type ActionKind } from '../../core/ceremony/actions/registry.ts';
import { planCeremony } from '../../core/ceremony/plan.ts';
import { MAX_SCRIPT_BYTES, validateScript } from '../../core/ceremony/script.ts';
import { MAX_SITE_BYTES, validateSite } from '../../core/ceremony/site.ts';
import type { CeremonyScript, SiteConfig } from '../../core/ceremony/types.ts';

/** Largest YAML file the workstation reads: the ceremony engine's limit for scripts. */
export const MAX_YAML_BYTES = MAX_SCRIPT_BYTES;
/** At most this many problems are returned; the rest are counted. */
export const MAX_REPORTED_PROBLEMS = 200;

/** One problem, as the contract carries it. */
export interface CheckedProblem {
  severity: 'error' | 'warning';
  /** Dotted path of the field, or '' when the problem is not tied to a field. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** A valid script's plan, as plain data for the screens. */
export interface PlanSummary {
  id: string;
  type: string;
  title: string;
  description: string | null;
  sha256: string;
  quorum: { m: number; n: number; activation: string };
  roles: Array<{ name: string; min: number; max: number | null; description: string | null }>;
  pointOfNoReturn: string | null;
  usesToken: boolean;
  createsToken: boolean;
  steps: Array<{
    index: number;
    id: string;
    title: string;
    action: string;
    /** What the action does (the engine's one-line summary). */
    summary: string;
    instructions: string | null;
    signOff: string[];
    pointOfNoReturn: boolean;
    hsm: 'none' | 'module' | 'login';
    outputs: string[];
    keyLabels: string[];
  }>;
}

/** A valid site file, as plain data for the screens. */
export interface SiteSummary {
  site: string | null;
  module: string;
  tokenLabel: string;
  tokenSerial: string | null;
  outputDir: string;
  referenceClock: string | null;
  participants: Array<{ name: string; roles: string[] }>;
  sha256: string;
}

/** The outcome of {@link checkYamlText}. */
export interface YamlCheck {
  documents: number;
  /** What the file is, from its top-level keys; `yaml` when neither a script nor a site file. */
  kind: 'script' | 'site' | 'yaml';
  /** True when the engine accepted the file as its kind (always false for `yaml`). */
  valid: boolean;
  /** At most {@link MAX_REPORTED_PROBLEMS}, in line order. */
  problems: CheckedProblem[];
  /** How many problems there were in all. */
  problemsTotal: number;
  plan?: PlanSummary;
  site?: SiteSummary;
}

/** Parses YAML text and lists every syntax problem with its line and column (all at once, uncapped). */
export function yamlProblems(text: string): { documents: number; problems: CheckedProblem[] } {
  const { documents, problems } = syntaxCheck(text);
  return { documents, problems };
}

function syntaxCheck(text: string): { documents: number; problems: CheckedProblem[]; first?: Document.Parsed } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const problems: CheckedProblem[] = [];
  const at = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  // An empty stream is an empty array that still carries stream-level errors.
  const list = Array.from(docs);
  if ('empty' in docs) {
    for (const e of docs.errors) problems.push({ severity: 'error', path: '', message: e.message, ...at(e.pos[0]) });
  }
  list.forEach((doc, i) => {
    for (const e of doc.errors) problems.push({ severity: 'error', path: '', message: e.message, ...at(e.pos[0]) });
    for (const w of doc.warnings) problems.push({ severity: 'warning', path: '', message: w.message, ...at(w.pos[0]) });
    if (i > 0) {
      const start = doc.range[0];
      problems.push({ severity: 'error', path: '', message: 'a ceremony file holds exactly one YAML document; remove the second document (the `---` separator and what follows)', ...at(start) });
    }
  });
  if (list.length === 0 && problems.length === 0) problems.push({ severity: 'error', path: '', message: 'the file is empty' });
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  const first = list[0];
  return first === undefined ? { documents: list.length, problems } : { documents: list.length, problems, first };
}

/** The kind of ceremony file a parsed document looks like, from its top-level keys. */
function kindOf(doc: Document.Parsed | undefined): YamlCheck['kind'] {
  const contents = doc?.contents;
  if (contents === null || contents === undefined || !isMap(contents)) return 'yaml';
  const keys = new Set(contents.items.map((p) => (p.key !== null && typeof p.key === 'object' && 'value' in p.key ? String(p.key.value) : String(p.key))));
  if (keys.has('ceremony-type') || keys.has('steps')) return 'script';
  if (keys.has('participants') || keys.has('output-dir') || keys.has('hsm')) return 'site';
  return 'yaml';
}

/** A valid script's plan as plain data. */
export function planSummary(script: CeremonyScript): PlanSummary {
  const plan = planCeremony(script);
  return {
    id: script.id,
    type: script.type,
    title: script.title,
    description: script.description ?? null,
    sha256: script.sha256,
    quorum: { m: script.quorum.m, n: script.quorum.n, activation: script.quorum.activation },
    roles: Object.entries(script.roles).map(([name, r]) => ({ name, min: r.min, max: r.max ?? null, description: r.description ?? null })),
    pointOfNoReturn: plan.pointOfNoReturn === -1 ? null : plan.steps[plan.pointOfNoReturn]!.step.id,
    usesToken: plan.usesToken,
    createsToken: plan.createsToken,
    steps: plan.steps.map((p) => ({
      index: p.step.index,
      id: p.step.id,
      title: p.step.title,
      action: p.step.action,
      summary: ACTIONS[p.step.action as ActionKind].summary,
      instructions: p.step.instructions ?? (typeof (p.step.params as { instructions?: unknown } | undefined)?.instructions === 'string' ? String((p.step.params as { instructions: string }).instructions) : null),
      signOff: [...p.step.signOff],
      pointOfNoReturn: p.pointOfNoReturn,
      hsm: p.hsm,
      outputs: [...p.plan.outputs],
      keyLabels: [...p.plan.keyLabels],
    })),
  };
}

/** A valid site file as plain data. */
export function siteSummary(site: SiteConfig): SiteSummary {
  return {
    site: site.site ?? null,
    module: site.hsm.module,
    tokenLabel: site.hsm.tokenLabel,
    tokenSerial: site.hsm.tokenSerial ?? null,
    outputDir: site.outputDir,
    referenceClock: site.referenceClock ?? null,
    participants: site.participants.map((p) => ({ name: p.name, roles: [...p.roles] })),
    sha256: site.sha256,
  };
}

function capped(problems: CheckedProblem[]): { problems: CheckedProblem[]; problemsTotal: number } {
  return { problems: problems.slice(0, MAX_REPORTED_PROBLEMS), problemsTotal: problems.length };
}

/**
 * Checks one ceremony file: YAML syntax first (line and column); when the syntax is sound, the
 * engine's validation of the file as a script or a site file. Never throws for bad input.
 * @param source the file's name for messages
 * @param baseDir the folder relative paths of a site file resolve against
 */
export function checkYamlText(text: string, source: string, baseDir: string): YamlCheck {
  const syntax = syntaxCheck(text);
  const kind = kindOf(syntax.first);
  const errors = syntax.problems.some((p) => p.severity === 'error');
  // The engine parses again and would repeat every syntax problem: show those once, from the parser.
  if (errors) return { documents: syntax.documents, kind, valid: false, ...capped(syntax.problems) };
  if (kind === 'yaml') {
    return { documents: syntax.documents, kind, valid: false, ...capped([{ severity: 'error', path: '', line: 1, message: 'this is neither a ceremony script (ceremony-type, roles, quorum, steps) nor a site file (hsm, output-dir, participants); choose another file' }, ...syntax.problems]) };
  }
  const warnings = syntax.problems;
  if (kind === 'script') {
    const v = validateScript(text, source);
    if (!v.ok) return { documents: syntax.documents, kind, valid: false, ...capped(sorted([...warnings, ...v.problems.map((p) => ({ severity: 'error' as const, path: p.path, message: p.message, ...(p.line === undefined ? {} : { line: p.line }) }))])) };
    return { documents: syntax.documents, kind, valid: true, ...capped(warnings), plan: planSummary(v.script) };
  }
  if (Buffer.byteLength(text) > MAX_SITE_BYTES) {
    return { documents: syntax.documents, kind, valid: false, ...capped([{ severity: 'error', path: '', message: `a site file is at most ${MAX_SITE_BYTES} bytes; this one is ${Buffer.byteLength(text)}. Check that this is the right file` }]) };
  }
  const v = validateSite(text, source, baseDir);
  if (!v.ok) return { documents: syntax.documents, kind, valid: false, ...capped(sorted([...warnings, ...v.problems.map((p) => ({ severity: 'error' as const, path: p.path, message: p.message, ...(p.line === undefined ? {} : { line: p.line }) }))])) };
  return { documents: syntax.documents, kind, valid: true, ...capped(warnings), site: siteSummary(v.site) };
}

function sorted(problems: CheckedProblem[]): CheckedProblem[] {
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
