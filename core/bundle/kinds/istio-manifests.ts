/**
 * @module bundle/kinds/istio-manifests
 * `istio-manifests`: Kubernetes/Istio YAML (PeerAuthentication, DestinationRule,
 * AuthorizationPolicy, Sidecar, the `cacerts` Secret with certificate files only). Structural
 * checks: every file is YAML whose documents are mappings with `apiVersion`, `kind` and
 * `metadata.name`; a Secret never carries a key file (a data key containing `key`, such as
 * `ca-key.pem` or `tls.key`: istiod's key comes through its CSR flow) nor decoded key material
 * (ERR_BUNDLE_PRIVATE_KEY). The Istio domain registers CRD schema validation as a validator.
 *
 * Must never: let a Secret with key material through.
 */
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

import { CoreError } from '../../errors.ts';
import { mediaTypeFor } from '../manifest.ts';
import { findPrivateKeyMaterial } from '../private-key-scan.ts';
import { pathField, Problems } from './common.ts';
import type { KindHandler, KindInput } from './types.ts';

/** `payload/index.json` of an istio-manifests bundle. */
export const istioManifestsIndex = z.strictObject({
  manifests: z
    .array(
      z.strictObject({
        path: pathField.refine((p) => p.endsWith('.yaml'), 'must be a .yaml file'),
        description: z.string().max(200).optional(),
      }),
    )
    .min(1)
    .max(128),
});
/** Parsed index of an istio-manifests bundle. */
export type IstioManifestsIndex = z.infer<typeof istioManifestsIndex>;

/** Bounds on YAML shape, checked before parsing: the YAML parser exhausts memory on absurd nesting. */
export const YAML_LIMITS = Object.freeze({ maxBytes: 4 * 1024 * 1024, maxIndent: 256, maxCompactSequences: 64, maxFlowDepth: 64 });

/** Why a YAML text is too deep or large to parse safely, or undefined. */
export function yamlShapeProblem(text: string): string | undefined {
  if (Buffer.byteLength(text, 'utf8') > YAML_LIMITS.maxBytes) return `it is larger than ${YAML_LIMITS.maxBytes / 1024 / 1024} MiB`;
  let depth = 0;
  let line = 1;
  let atLineStart = true;
  let indent = 0;
  let dashes = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
      atLineStart = true;
      indent = 0;
      dashes = 0;
      if (quote === "'") quote = undefined; // single-quoted scalars rarely span lines; stay conservative
      continue;
    }
    if (atLineStart) {
      if (c === ' ' || c === '\t') {
        if (++indent > YAML_LIMITS.maxIndent) return `line ${line} is indented by more than ${YAML_LIMITS.maxIndent} characters`;
        continue;
      }
      if (c === '-' && (text[i + 1] === ' ' || text[i + 1] === '\n' || text[i + 1] === undefined)) {
        if (++dashes > YAML_LIMITS.maxCompactSequences) return `line ${line} opens more than ${YAML_LIMITS.maxCompactSequences} nested sequences`;
        i++;
        indent++;
        continue;
      }
      atLineStart = false;
    }
    if (quote !== undefined) {
      if (c === quote && text[i - 1] !== '\\') quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl - 1;
    } else if (c === '[' || c === '{') {
      if (++depth > YAML_LIMITS.maxFlowDepth) return `line ${line} nests flow collections more than ${YAML_LIMITS.maxFlowDepth} deep`;
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validate(input: KindInput<IstioManifestsIndex>): void {
  const problems = new Problems('istio-manifests');
  const seen = new Set<string>();
  input.index.manifests.forEach((m, i) => {
    const field = `manifests.${i}.path`;
    if (seen.has(m.path)) problems.add(field, `${m.path} is listed twice`);
    seen.add(m.path);
    const data = input.files.get(m.path);
    if (data === undefined) return;
    const text = data.toString('utf8');
    const shape = yamlShapeProblem(text);
    if (shape !== undefined) return problems.add(field, `${m.path} cannot be accepted: ${shape}`);
    const docs = parseAllDocuments(text, { uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, d) => {
      if (doc.errors.length > 0) return problems.add(field, `${m.path} document ${d + 1} is not valid YAML (${doc.errors[0]?.code ?? 'error'} at line ${doc.errors[0]?.linePos?.[0]?.line ?? '?'})`);
      let v: unknown;
      try {
        v = doc.toJS({ maxAliasCount: 0 });
      } catch {
        return problems.add(field, `${m.path} document ${d + 1} uses YAML aliases, which are not allowed in bundles`);
      }
      if (v === null || v === undefined) return;
      if (!isRecord(v) || typeof v['apiVersion'] !== 'string' || typeof v['kind'] !== 'string' || !isRecord(v['metadata']) || typeof v['metadata']['name'] !== 'string') {
        return problems.add(field, `${m.path} document ${d + 1} is not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
      }
      if (v['kind'] === 'Secret') {
        for (const section of ['data', 'stringData']) {
          const entries = v[section];
          if (entries === undefined) continue;
          if (!isRecord(entries)) return problems.add(field, `${m.path} document ${d + 1}: Secret ${section} must be a mapping`);
          for (const [key, value] of Object.entries(entries)) {
            if (/key/iu.test(key)) {
              throw new CoreError('ERR_BUNDLE_PRIVATE_KEY', `${m.path} document ${d + 1}: the Secret '${v['metadata']['name']}' carries '${key}'; a bundle never carries key files (istiod gets its key through its CSR flow)`, {
                details: { path: m.path, document: d + 1, key },
              });
            }
            const bytes = typeof value === 'string' ? (section === 'data' ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8')) : undefined;
            const found = bytes === undefined ? undefined : findPrivateKeyMaterial(bytes);
            if (found !== undefined) {
              throw new CoreError('ERR_BUNDLE_PRIVATE_KEY', `${m.path} document ${d + 1}: the Secret '${v['metadata']['name']}' entry '${key}' holds ${found}; a bundle never carries private keys`, {
                details: { path: m.path, document: d + 1, key },
              });
            }
          }
        }
      }
    });
  });
  problems.throwIfAny();
}

/** The istio-manifests kind. */
export const istioManifestsKind: KindHandler<IstioManifestsIndex> = {
  kind: 'istio-manifests',
  description: 'Istio security manifests and the cacerts Secret (certificates only)',
  indexSchema: istioManifestsIndex,
  references: (index) => index.manifests.map((m, i) => ({ path: m.path, mediaType: mediaTypeFor(m.path) ?? '', field: `manifests.${i}.path` })),
  validate,
};
