/**
 * Shared helpers of the Istio tests: fixture paths, and Istio's CRDs located the way the CLI does
 * ($NEAM_CA_ISTIO_CRDS, then shared/istio-crds in the repository or a parent folder). When the CRDs
 * are absent the tests that need them FAIL with a message saying where they looked: a schema test
 * that silently passes would prove nothing.
 */
import { join } from 'node:path';

import { loadCrds, locateCrds, type CrdContext } from '../../../core/istio/index.ts';

export const REPO = join(import.meta.dirname, '../../..');
export const FIXTURES = join(REPO, 'test/fixtures/istio');
export const fx = (name: string): string => join(FIXTURES, name);
/** The fixture's clock: the exceptions in exceptions.yaml are valid then. */
export const NOW = new Date('2026-12-01T00:00:00Z');

/** Istio's CRDs, or a thrown error that names every place tried. */
export function crds(): CrdContext {
  const loc = locateCrds(REPO, process.env);
  if (!loc.found) {
    const msg = `Istio CRD schemas not found (tried: ${loc.tried.join(', ')}). Set NEAM_CA_ISTIO_CRDS to the folder holding customresourcedefinitions.gen.yaml and testdata/ (Istio 1.30, see the steering repository's shared/istio-crds/SOURCE.md)`;
    console.error(`\n*** ${msg}\n`);
    throw new Error(msg);
  }
  return loadCrds(REPO, process.env);
}
