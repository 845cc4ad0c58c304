/**
 * @module bundle/kinds
 * The registry of bundle kinds and the generic kind-check runner. A {@link KindRegistry} starts
 * with the built-in kinds; other domains add incoming checks with
 * {@link KindRegistry.addValidator} (the online CA, the ceremony engine, the Istio generator) and
 * pass their registry to verify/import. There is no global registry: each caller owns its own.
 *
 * The runner, for every kind: refuses private key material in any payload file
 * (ERR_BUNDLE_PRIVATE_KEY), parses `payload/index.json` against the kind's strict schema, checks
 * that every file the index references is in the manifest with the right media type and that no
 * payload file is unreferenced (ERR_BUNDLE_KIND_INVALID), then runs the kind's own checks.
 *
 * Must never: run a kind's state-changing hook outside the caller's transaction.
 */
import { CoreError, formatProblems, type Problem } from '../../errors.ts';
import { zodProblems, type BundleKind, type Manifest } from '../manifest.ts';
import { findPrivateKeyMaterial } from '../private-key-scan.ts';
import type { BundleState } from '../state.ts';
import { crlKind } from './crl.ts';
import { identityRotationKind } from './identity-rotation.ts';
import { intermediateIssuanceKind } from './intermediate-issuance.ts';
import { intermediateRequestKind } from './intermediate-request.ts';
import { istioManifestsKind } from './istio-manifests.ts';
import { revocationRequestKind } from './revocation-request.ts';
import { INDEX_PATH, type ChannelContext, type KindHandler, type KindValidator } from './types.ts';

export * from './types.ts';
export { intermediateRequestIndex, type IntermediateRequestIndex, MAX_REQUEST_WINDOW_DAYS } from './intermediate-request.ts';
export { intermediateIssuanceIndex, type IntermediateIssuanceIndex, NOT_BEFORE_ALLOWANCE_MS } from './intermediate-issuance.ts';
export { crlIndex, type CrlIndex } from './crl.ts';
export { revocationRequestIndex, type RevocationRequestIndex, REVOCATION_REASONS } from './revocation-request.ts';
export { istioManifestsIndex, type IstioManifestsIndex } from './istio-manifests.ts';
export { identityRotationIndex, type IdentityRotationIndex } from './identity-rotation.ts';

const BUILT_IN: ReadonlyArray<KindHandler<never>> = [intermediateRequestKind, intermediateIssuanceKind, crlKind, revocationRequestKind, istioManifestsKind, identityRotationKind] as unknown as ReadonlyArray<
  KindHandler<never>
>;

/** The kinds a caller accepts, with the extra validators other domains registered. */
export class KindRegistry {
  readonly #handlers = new Map<BundleKind, KindHandler<unknown>>();
  readonly #validators = new Map<BundleKind, KindValidator[]>();

  /** A registry with every built-in kind. */
  static withDefaults(): KindRegistry {
    const r = new KindRegistry();
    for (const h of BUILT_IN) r.#handlers.set(h.kind, h as unknown as KindHandler<unknown>);
    return r;
  }

  /** Adds an incoming check for `kind`; validators run in registration order after the built-in ones. */
  addValidator(kind: BundleKind, validator: KindValidator): this {
    const list = this.#validators.get(kind) ?? [];
    list.push(validator);
    this.#validators.set(kind, list);
    return this;
  }

  /**
   * The handler of a kind.
   * @throws {CoreError} ERR_BUNDLE_KIND_INVALID when the kind is not accepted here
   */
  handler(kind: BundleKind): KindHandler<unknown> {
    const h = this.#handlers.get(kind);
    if (h === undefined) throw new CoreError('ERR_BUNDLE_KIND_INVALID', `bundles of kind '${kind}' are not accepted here`);
    return h;
  }

  /** Extra validators of a kind. */
  validators(kind: BundleKind): readonly KindValidator[] {
    return this.#validators.get(kind) ?? [];
  }

  /** Every registered kind. */
  kinds(): BundleKind[] {
    return [...this.#handlers.keys()];
  }
}

/**
 * Generic checks plus the kind's structural checks; returns the parsed index.
 * @throws {CoreError} ERR_BUNDLE_PRIVATE_KEY, ERR_BUNDLE_KIND_INVALID, and the kind's codes
 */
export function validatePayload(handler: KindHandler<unknown>, manifest: Manifest, manifestSha256: string, files: ReadonlyMap<string, Buffer>, now: Date): unknown {
  for (const [path, data] of files) {
    const found = findPrivateKeyMaterial(data);
    if (found !== undefined) {
      throw new CoreError('ERR_BUNDLE_PRIVATE_KEY', `${path} contains ${found}. A private key never travels in a bundle; remove it and send certificates or CSRs only`, { details: { path } });
    }
  }
  const raw = files.get(INDEX_PATH);
  if (raw === undefined) throw new CoreError('ERR_BUNDLE_KIND_INVALID', `a ${manifest.kind} bundle needs ${INDEX_PATH}, the description of its payload`);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new CoreError('ERR_BUNDLE_KIND_INVALID', `${INDEX_PATH} is not JSON`);
  }
  const parsed = handler.indexSchema.safeParse(value);
  if (!parsed.success) {
    const problems = zodProblems(parsed.error);
    throw new CoreError('ERR_BUNDLE_KIND_INVALID', `${INDEX_PATH} does not match the ${manifest.kind} schema:\n${formatProblems(problems)}`, { details: { problems } });
  }
  const index = parsed.data;
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const referenced = new Set<string>([INDEX_PATH]);
  const problems: Problem[] = [];
  if (listed.get(INDEX_PATH)?.mediaType !== 'application/json') problems.push({ path: INDEX_PATH, message: 'must be listed as application/json' });
  for (const ref of handler.references(index)) {
    referenced.add(ref.path);
    const f = listed.get(ref.path);
    if (f === undefined) problems.push({ path: ref.field, message: `${ref.path} is not in the bundle` });
    else if (f.mediaType !== ref.mediaType) problems.push({ path: ref.field, message: `${ref.path} must be ${ref.mediaType}, not ${f.mediaType}` });
  }
  for (const path of listed.keys()) if (!referenced.has(path)) problems.push({ path, message: `is not referenced by ${INDEX_PATH}` });
  if (problems.length > 0) throw new CoreError('ERR_BUNDLE_KIND_INVALID', `the ${manifest.kind} payload is inconsistent:\n${formatProblems(problems)}`, { details: { problems } });
  guarded(manifest.kind, () => handler.validate({ manifest, manifestSha256, index, files, now }));
  return index;
}

/**
 * Runs a kind check; anything but a CoreError (a parser that gave up on hostile input) becomes a
 * refusal, never a crash of the import.
 */
function guarded(kind: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw new CoreError('ERR_BUNDLE_KIND_INVALID', `the ${kind} payload could not be checked (a checker failed on this input), so it is refused; if the bundle is genuine, report this`, { cause: e });
  }
}

/**
 * Incoming checks of a verified bundle: the kind's own, then every registered validator.
 * @throws {CoreError} the codes of the checks
 */
export function checkIncoming(registry: KindRegistry, ctx: ChannelContext<unknown>): void {
  const handler = registry.handler(ctx.manifest.kind);
  guarded(ctx.manifest.kind, () => handler.checkIncoming?.(ctx));
  for (const v of registry.validators(ctx.manifest.kind)) guarded(ctx.manifest.kind, () => v(ctx));
}

/** The context a kind hook sees. */
export function channelContext(base: { manifest: Manifest; manifestSha256: string; index: unknown; files: ReadonlyMap<string, Buffer>; now: Date }, peer: string, state: BundleState): ChannelContext<unknown> {
  return { ...base, peer, state };
}
