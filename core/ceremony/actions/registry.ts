/**
 * @module ceremony/actions/registry
 * Every action a ceremony script may name. The list of kinds is declared once ({@link ACTION_KINDS});
 * the registry is a mapped type over it, so a kind without a complete definition (parameter schema,
 * plan, questions, precondition, executor, reconcile, point-of-no-return flag) is a compile error.
 *
 * To add an action: add its kind to {@link ACTION_KINDS}, write `actions/<kind>.ts` exporting an
 * {@link ActionDefinition}, register it below, document it in docs/ceremony-scripts.md, and test it.
 *
 * Must never: hold state; definitions are pure data plus functions.
 */
import { airGapCheck } from './air-gap-check.ts';
import { backupPublicArtefacts } from './backup-public-artefacts.ts';
import { checkpoint } from './checkpoint.ts';
import { clockCheck } from './clock-check.ts';
import { close } from './close.ts';
import { collectApprovals } from './collect-approvals.ts';
import { custodianEnrollment } from './custodian-enrollment.ts';
import { exportBundle } from './export-bundle.ts';
import { generateKey } from './generate-key.ts';
import { importBundleAction as importBundle } from './import-bundle.ts';
import { prepareCrlAction as prepareCrl } from './prepare-crl.ts';
import { prepareRootCertificate } from './prepare-root-certificate.ts';
import { quorumActivation } from './quorum-activation.ts';
import { reviewCsr } from './review-csr.ts';
import { revoke } from './revoke.ts';
import { rootCertificate } from './root-certificate.ts';
import { signCrl } from './sign-crl.ts';
import { signIntermediate } from './sign-intermediate.ts';
import { tokenInit } from './token-init.ts';
import { transferCertificate } from './transfer-certificate.ts';
import type { ActionDefinition } from './types.ts';

/** Every action kind, in the order the docs list them. */
export const ACTION_KINDS = [
  'air-gap-check',
  'clock-check',
  'checkpoint',
  'custodian-enrollment',
  'token-init',
  'generate-key',
  'prepare-root-certificate',
  'root-certificate',
  'transfer-certificate',
  'prepare-crl',
  'collect-approvals',
  'sign-crl',
  'backup-public-artefacts',
  'import-bundle',
  'review-csr',
  'quorum-activation',
  'sign-intermediate',
  'revoke',
  'export-bundle',
  'close',
] as const;

/** An action kind. */
export type ActionKind = (typeof ACTION_KINDS)[number];

/** An action definition with its parameter type erased (the registry's value type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parameters are checked by each definition's own schema before use
export type AnyActionDefinition = ActionDefinition<any>;

/** The registry: one complete definition per kind (a missing kind does not compile). */
export const ACTIONS: { readonly [K in ActionKind]: AnyActionDefinition } = {
  'air-gap-check': airGapCheck,
  'clock-check': clockCheck,
  checkpoint,
  'custodian-enrollment': custodianEnrollment,
  'token-init': tokenInit,
  'generate-key': generateKey,
  'prepare-root-certificate': prepareRootCertificate,
  'root-certificate': rootCertificate,
  'transfer-certificate': transferCertificate,
  'prepare-crl': prepareCrl,
  'collect-approvals': collectApprovals,
  'sign-crl': signCrl,
  'backup-public-artefacts': backupPublicArtefacts,
  'import-bundle': importBundle,
  'review-csr': reviewCsr,
  'quorum-activation': quorumActivation,
  'sign-intermediate': signIntermediate,
  revoke,
  'export-bundle': exportBundle,
  close,
};

/** True when `name` is a registered action kind. */
export function isActionKind(name: string): name is ActionKind {
  return Object.prototype.hasOwnProperty.call(ACTIONS, name);
}

/** The definition of a kind. */
export function actionOf(kind: ActionKind): AnyActionDefinition {
  return ACTIONS[kind];
}
