/**
 * @module istio/render
 * Turns the generated rollout into files: YAML per phase and namespace (keys sorted, documents
 * sorted, no line folding), the READMEs, `report.json` (keys sorted) and `evidence.jsonl`. The
 * result is a list of `{path, bytes, mediaType}` — exactly what a transfer bundle's payload needs —
 * so writing to disk and exporting as an `istio-manifests` bundle are thin steps over it.
 *
 * Must never: emit a file containing a private key (checked on every file), or produce different
 * bytes for the same inputs.
 */
import { stringify } from 'yaml';

import { CoreError } from '../errors.ts';
import { containsPrivateKey } from './cacerts.ts';
import { compareTuples } from './aggregate.ts';
import type { EvidenceTuple } from './model.ts';
import { cmp } from './model.ts';
import type { Generated, Phase, Resource } from './generate.ts';
import { PHASES } from './generate.ts';
import { phaseReadme, topReadme, type RolloutFacts } from './rollout.ts';

/** One output file. */
export interface OutputFile {
  /** Relative POSIX path (`02-permissive/shop.yaml`). */
  path: string;
  bytes: Buffer;
  mediaType: 'application/yaml' | 'text/markdown' | 'application/json' | 'application/jsonl';
}

/** JSON with object keys sorted at every level, 2-space indented, trailing newline. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.keys(v).sort(cmp).map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

/** YAML of several resources as one multi-document stream. */
export function renderYaml(resources: readonly Resource[], header: string): string {
  const docs = resources.map((r) => stringify(r, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false, indent: 2 }));
  return `# ${header}\n${docs.map((d) => `---\n${d}`).join('')}`;
}

/** Groups a phase's resources into files: one per namespace (the root namespace included). */
export function phaseFiles(phase: Phase, resources: readonly Resource[]): Array<{ path: string; resources: Resource[] }> {
  const byNs = new Map<string, Resource[]>();
  for (const r of resources) {
    const list = byNs.get(r.metadata.namespace);
    if (list === undefined) byNs.set(r.metadata.namespace, [r]);
    else list.push(r);
  }
  return [...byNs.keys()].sort(cmp).map((ns) => ({ path: phase === '00-plug-in-ca' ? 'cacerts.yaml' : `${ns}.yaml`, resources: byNs.get(ns) as Resource[] }));
}

/** The YAML files of every phase, in apply order. */
export function renderManifestFiles(generated: Generated): OutputFile[] {
  const out: OutputFile[] = [];
  for (const p of PHASES) {
    for (const f of phaseFiles(p, generated.phases[p])) {
      out.push({ path: `${p}/${f.path}`, bytes: Buffer.from(renderYaml(f.resources, `NEAM CA rollout step ${p}, namespace ${f.resources[0]?.metadata.namespace ?? ''}. Apply the folders in order; see README.md.`), 'utf8'), mediaType: 'application/yaml' });
    }
  }
  return out;
}

/** Everything the renderer needs besides the generated resources. */
export interface RenderInput {
  generated: Generated;
  /** From {@link renderManifestFiles} (validated by the caller before the rest is rendered). */
  manifests: readonly OutputFile[];
  facts: Omit<RolloutFacts, 'files'>;
  tuples: readonly EvidenceTuple[];
  /** The report object (written as report.json with sorted keys). */
  report: Record<string, unknown>;
}

/**
 * Renders the output tree as files in a fixed order: README.md, each phase's README and YAML,
 * evidence.jsonl, report.json.
 * @throws {CoreError} ERR_ISTIO_PRIVATE_KEY_REFUSED should any file hold a private key (a bug guard).
 */
export function renderFiles(input: RenderInput): OutputFile[] {
  const { generated } = input;
  const files: OutputFile[] = [];
  const used = PHASES.filter((p) => generated.phases[p].length > 0);
  const perPhase = {} as Record<Phase, string[]>;
  for (const p of PHASES) perPhase[p] = input.manifests.filter((f) => f.path.startsWith(`${p}/`)).map((f) => f.path.slice(p.length + 1));
  const facts: RolloutFacts = { ...input.facts, files: perPhase };
  files.push({ path: 'README.md', bytes: Buffer.from(topReadme(generated, facts, used), 'utf8'), mediaType: 'text/markdown' });
  for (const p of used) {
    files.push({ path: `${p}/README.md`, bytes: Buffer.from(phaseReadme(p, generated, facts), 'utf8'), mediaType: 'text/markdown' });
    files.push(...input.manifests.filter((f) => f.path.startsWith(`${p}/`)));
  }
  const evidence = [...input.tuples].sort(compareTuples).map((t) => `${JSON.stringify({ destination: t.destination, principal: t.principal, port: t.port, method: t.method, path: t.path, protocol: t.protocol, count: t.count, firstSeen: t.firstSeen })}\n`);
  files.push({ path: 'evidence.jsonl', bytes: Buffer.from(evidence.join(''), 'utf8'), mediaType: 'application/jsonl' });
  files.push({ path: 'report.json', bytes: Buffer.from(stableJson(input.report), 'utf8'), mediaType: 'application/json' });
  for (const f of files) {
    if (containsPrivateKey(f.bytes)) throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `${f.path} would contain a private key; nothing was written`);
  }
  // Secret data is base64: look inside it too.
  for (const p of PHASES)
    for (const r of generated.phases[p])
      for (const [k, v] of Object.entries(r.data ?? {}))
        if (containsPrivateKey(Buffer.from(v, 'base64')) || k.endsWith('key.pem') || k === 'tls.key') throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `Secret ${r.metadata.namespace}/${r.metadata.name} key ${k} would carry a private key; nothing was written`);
  return files;
}
