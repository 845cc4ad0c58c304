/**
 * @module istio/export
 * The payload of an `istio-manifests` transfer bundle, and the incoming check the Istio domain
 * adds to that kind. A bundle of this kind carries `payload/index.json` and YAML only (see
 * `core/bundle/kinds/istio-manifests.ts`): so each rollout phase travels as
 * `payload/NN-phase/manifests.yaml` (split into `manifests-2.yaml`, … above 3 MiB, documents in
 * their apply order), with the phase README carried as YAML comments at its top; the report and the
 * evidence stay with the generator. Every safety property is checked here too: safe relative paths,
 * no private key anywhere (PEM, base64 inside Secret data, or a key-named Secret field).
 *
 * Must never: let a private key or an unsafe path through, or sign anything (the bundle domain
 * signs and packs; `neam-ca istio export` wires the two).
 */
import { createHash } from 'node:crypto';

import type { ChannelContext } from '../bundle/index.ts';
import { CoreError } from '../errors.ts';
import { containsPrivateKey } from './cacerts.ts';
import type { CrdSchemaSet } from './crd-schema.ts';
import { PHASES } from './generate.ts';
import { cmp } from './model.ts';
import type { OutputFile } from './render.ts';
import { countFindings, formatFinding, validateDocuments, type ManifestDoc } from './validate.ts';
import { parseYamlStream } from './yaml-source.ts';

/** The bundle kind these files travel in. */
export const ISTIO_BUNDLE_KIND = 'istio-manifests';

/** One payload file of an `istio-manifests` bundle (`payload/…`). */
export interface BundlePayloadFile {
  path: string;
  bytes: Buffer;
  mediaType: 'application/yaml' | 'application/json';
  sha256: string;
  size: number;
}

/** Largest YAML payload file (the bundle kind refuses more than 4 MiB per YAML file). */
export const MAX_PAYLOAD_YAML_BYTES = 3 * 1024 * 1024;

/** Media type of a generated file by its name. */
export function mediaTypeOf(path: string): OutputFile['mediaType'] | undefined {
  if (/\.ya?ml$/u.test(path)) return 'application/yaml';
  if (path.endsWith('.md')) return 'text/markdown';
  if (path.endsWith('.jsonl')) return 'application/jsonl';
  if (path.endsWith('.json')) return 'application/json';
  return undefined;
}

function assertSafe(f: OutputFile, seen: Set<string>): void {
  if (f.path === '' || f.path.startsWith('/') || f.path.includes('\\') || f.path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `unsafe payload path "${f.path}"`);
  if (seen.has(f.path)) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `duplicate payload path "${f.path}"`);
  seen.add(f.path);
  if (mediaTypeOf(f.path) === undefined) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `"${f.path}" is not a file the Istio generator produces`);
  if (containsPrivateKey(f.bytes)) throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `${f.path} holds a private key; an istio-manifests bundle never carries one`);
  if (f.mediaType === 'application/yaml') {
    const text = f.bytes.toString('utf8');
    // Secret data values are base64: decode every long base64 run and look inside.
    for (const m of text.matchAll(/[A-Za-z0-9+/]{40,}={0,2}/gu)) {
      if (containsPrivateKey(Buffer.from(m[0], 'base64'))) throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `${f.path} holds a base64-encoded private key; an istio-manifests bundle never carries one`);
    }
    if (/^\s*(?:ca-key\.pem|tls\.key)\s*:/mu.test(text)) throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `${f.path} has a Secret key field for a private key (ca-key.pem / tls.key)`);
  }
}

/** Splits a multi-document YAML text at `---` lines into pieces of at most `max` bytes. */
function splitDocuments(text: string, max: number): string[] {
  const docs = text.split(/^(?=---$)/mu);
  const out: string[] = [];
  let cur = '';
  for (const d of docs) {
    if (cur !== '' && Buffer.byteLength(cur) + Buffer.byteLength(d) > max) {
      out.push(cur);
      cur = '';
    }
    cur += d;
  }
  if (cur !== '') out.push(cur);
  return out;
}

function payloadFile(path: string, bytes: Buffer, mediaType: BundlePayloadFile['mediaType']): BundlePayloadFile {
  return { path, bytes, mediaType, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

const SUMMARY: Record<string, string> = {
  '00-plug-in-ca': "step 0: the cacerts Secret (certificates only; istiod's key is added on the cluster side)",
  '01-observe': 'step 1: observe (access logging, explicit PERMISSIVE, authorization in dry-run)',
  '02-permissive': 'step 2: ISTIO_MUTUAL, egress Sidecars, exceptions, authorization enforced',
  '03-strict': 'step 3: mesh-wide STRICT mTLS',
};

/**
 * Turns a generated rollout (from `generateRollout(...).files` or `readGeneratedTree(DIR)`) into
 * the payload of an `istio-manifests` bundle: `payload/index.json` and one or more
 * `payload/NN-phase/manifests*.yaml` per phase, sorted by path.
 * @throws {CoreError} ERR_ISTIO_PRIVATE_KEY_REFUSED when any file (or Secret data in it) holds a
 *   private key; ERR_ISTIO_MANIFEST_INVALID for unsafe paths, duplicates, unknown file types, a
 *   tree without manifests, or more files than a bundle index may list.
 */
export function istioBundlePayload(files: readonly OutputFile[]): BundlePayloadFile[] {
  const seen = new Set<string>();
  for (const f of files) assertSafe(f, seen);
  const out: BundlePayloadFile[] = [];
  const index: Array<{ path: string; description: string }> = [];
  for (const phase of PHASES) {
    const yamls = files.filter((f) => f.mediaType === 'application/yaml' && f.path.startsWith(`${phase}/`)).sort((a, b) => cmp(a.path, b.path));
    if (yamls.length === 0) continue;
    const readme = files.find((f) => f.path === `${phase}/README.md`);
    const header = `# ${SUMMARY[phase] ?? phase}\n${readme === undefined ? '' : `${readme.bytes.toString('utf8').split('\n').map((l) => (l === '' ? '#' : `# ${l}`)).join('\n')}\n`}`;
    const body = yamls.map((f) => f.bytes.toString('utf8')).join('');
    const parts = splitDocuments(body, MAX_PAYLOAD_YAML_BYTES - Buffer.byteLength(header));
    parts.forEach((p, i) => {
      const path = `payload/${phase}/manifests${i === 0 ? '' : `-${i + 1}`}.yaml`;
      out.push(payloadFile(path, Buffer.from(i === 0 ? header + p : `# ${SUMMARY[phase] ?? phase} (part ${i + 1})\n${p}`, 'utf8'), 'application/yaml'));
      index.push({ path, description: `${SUMMARY[phase] ?? phase}${parts.length > 1 ? ` (part ${i + 1} of ${parts.length})` : ''}`.slice(0, 200) });
    });
  }
  if (index.length === 0) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', 'the generated tree holds no rollout manifests (NN-phase/*.yaml)');
  if (index.length > 128) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `the rollout needs ${index.length} payload files; an istio-manifests bundle lists at most 128`);
  out.push(payloadFile('payload/index.json', Buffer.from(`${JSON.stringify({ manifests: index }, null, 2)}\n`, 'utf8'), 'application/json'));
  return out.sort((a, b) => cmp(a.path, b.path));
}

/**
 * Validates the YAML files of an `istio-manifests` payload: every document passes the CRD schema,
 * CEL rules and Istio's rules, on the state that applying the phases in order gives.
 * @throws {CoreError} ERR_ISTIO_MANIFEST_INVALID listing the first problems.
 */
export function validatePayloadFiles(files: ReadonlyMap<string, Buffer>, crds: CrdSchemaSet | undefined): void {
  const docs: ManifestDoc[] = [];
  for (const [path, data] of [...files].sort(([a], [b]) => cmp(a, b))) {
    if (!path.endsWith('.yaml')) continue;
    for (const d of parseYamlStream(data.toString('utf8'))) docs.push(d.error === undefined ? { file: path, line: d.line, index: d.index, value: d.value } : { file: path, line: d.line, index: d.index, value: undefined, error: d.error });
  }
  const findings = validateDocuments(docs, crds);
  const c = countFindings(findings);
  if (c.errors > 0) {
    const errs = findings.filter((f) => f.severity === 'error');
    throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `the istio-manifests payload holds ${c.errors} invalid document(s):\n${errs.slice(0, 20).map((f) => `  - ${formatFinding(f)}`).join('\n')}`, { details: { errors: errs.slice(0, 100) } });
  }
}

/**
 * The incoming check the Istio domain adds to `istio-manifests` bundles: register it with
 * `KindRegistry.withDefaults().addValidator('istio-manifests', istioManifestsValidator(crds))`.
 * @throws {CoreError} ERR_ISTIO_MANIFEST_INVALID (see {@link validatePayloadFiles}).
 */
export function istioManifestsValidator(crds: CrdSchemaSet | undefined): (ctx: ChannelContext<unknown>) => void {
  return (ctx) => validatePayloadFiles(ctx.files, crds);
}
