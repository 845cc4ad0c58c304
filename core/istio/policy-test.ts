/**
 * @module istio/policy-test
 * `neam-ca istio test`: hand-written request cases with the expected verdict, evaluated against a
 * manifests folder with Istio's semantics (`evaluate.ts`), reported as an expected-vs-actual table.
 * The cases file is strict YAML; every problem is reported at once with its path and line.
 *
 * Must never: count a case as passed when its destination cannot be resolved (that is a cases
 * error), or hide which policy decided.
 */
import { z } from 'zod';

import { CoreError, formatProblems, type Problem } from '../errors.ts';
import type { MeshIndex } from './inventory.ts';
import type { Decision, PolicySet } from './evaluate.ts';
import { parseSpiffeId } from './resolve.ts';
import { parseYamlSourced, zodProblems } from './yaml-source.ts';

const CaseSchema = z.strictObject({
  name: z.string().min(1),
  /** Peer principal `td/ns/NS/sa/SA` or `spiffe://…`; `plaintext` or null for no peer identity. */
  from: z.union([z.string().min(1), z.null()]),
  /** Destination workload `namespace/name` (looked up in the inventory). */
  to: z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/u, 'must be namespace/workload'),
  port: z.number().int().min(1).max(65535),
  method: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/u).optional(),
  path: z.string().startsWith('/').optional(),
  host: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  sourceIp: z.string().optional(),
  requestPrincipal: z.string().optional(),
  custom: z.enum(['allow', 'deny']).optional(),
  expect: z.enum(['allow', 'deny']),
});

const FileSchema = z.strictObject({ apiVersion: z.string().optional(), kind: z.literal('PolicyTestCases').optional(), cases: z.array(z.unknown()).min(1, 'at least one case is required') });

/** One parsed case. */
export type PolicyCase = z.infer<typeof CaseSchema> & { line?: number };

/**
 * Parses a cases file and resolves destinations against the inventory.
 * @throws {CoreError} ERR_ISTIO_CASES_INVALID listing every problem.
 */
export function parseCases(text: string, file: string, index: MeshIndex): PolicyCase[] {
  const src = parseYamlSourced(text, file, 'ERR_ISTIO_CASES_INVALID');
  const top = FileSchema.safeParse(src.value);
  if (!top.success) throw new CoreError('ERR_ISTIO_CASES_INVALID', `${file}: the cases file is invalid:\n${formatProblems(zodProblems(top.error, src))}`, { details: { file } });
  const problems: Problem[] = [];
  const out: PolicyCase[] = [];
  const names = new Set<string>();
  top.data.cases.forEach((raw, i) => {
    const r = CaseSchema.safeParse(raw);
    if (!r.success) return void problems.push(...zodProblems(r.error, src, ['cases', i]));
    const c = r.data;
    const line = src.lineOf(['cases', i]);
    const at = (field: string, message: string): void => {
      const l = src.lineOf(['cases', i, field]);
      problems.push(l === undefined ? { path: `cases.${i}.${field}`, message } : { path: `cases.${i}.${field}`, message, line: l });
    };
    if (names.has(c.name)) at('name', `duplicate case name "${c.name}"`);
    names.add(c.name);
    if (index.workload(c.to) === undefined) at('to', `workload ${c.to} is not in the inventory`);
    if (c.from !== null && c.from !== 'plaintext') {
      const uri = c.from.startsWith('spiffe://') ? c.from : `spiffe://${c.from}`;
      if (parseSpiffeId(uri) === undefined) at('from', `"${c.from}" is not an Istio principal (<trust-domain>/ns/<ns>/sa/<sa>) or "plaintext"`);
    }
    if (c.path !== undefined && c.method === undefined) at('path', 'a path needs a method (a case without method is a TCP connection)');
    out.push(line === undefined ? c : { ...c, line });
  });
  if (problems.length > 0) throw new CoreError('ERR_ISTIO_CASES_INVALID', `${file}: the policy test cases are invalid:\n${formatProblems(problems)}`, { details: { file, problems } });
  return out;
}

/** One evaluated case. */
export interface CaseResult {
  name: string;
  request: string;
  expected: 'allow' | 'deny';
  actual: 'allow' | 'deny';
  pass: boolean;
  decision: Decision;
}

/** Evaluates the cases. Pure. */
export function runCases(cases: readonly PolicyCase[], policies: PolicySet, index: MeshIndex): CaseResult[] {
  return cases.map((c) => {
    const w = index.workload(c.to);
    if (w === undefined) throw new CoreError('ERR_ISTIO_CASES_INVALID', `case "${c.name}": workload ${c.to} is not in the inventory`);
    const principal = c.from === null || c.from === 'plaintext' ? null : c.from.replace(/^spiffe:\/\//u, '');
    const decision = policies.evaluate({
      principal,
      namespace: w.namespace,
      labels: w.labels,
      port: c.port,
      ...(c.method === undefined ? {} : { method: c.method, path: c.path ?? '/' }),
      ...(c.host === undefined ? {} : { host: c.host }),
      ...(c.headers === undefined ? {} : { headers: c.headers }),
      ...(c.sourceIp === undefined ? {} : { sourceIp: c.sourceIp }),
      ...(c.requestPrincipal === undefined ? {} : { requestPrincipal: c.requestPrincipal }),
      ...(c.custom === undefined ? {} : { custom: c.custom }),
    });
    const actual = decision.allowed ? 'allow' : 'deny';
    const request = `${principal ?? 'plaintext'} → ${c.to}:${c.port}${c.method === undefined ? ' (tcp)' : ` ${c.method} ${c.path ?? '/'}`}`;
    return { name: c.name, request, expected: c.expect, actual, pass: actual === c.expect, decision };
  });
}
