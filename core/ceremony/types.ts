/**
 * @module ceremony/types
 * The data shapes shared by the ceremony engine: a validated script and its steps, the site file,
 * participants, the plan derived from both, and the records the runner keeps. Types only.
 *
 * Must never: hold a secret (PINs and shares live in `Secret`s inside the runner, never here).
 */

/** Kinds of ceremony a script may describe (design brief §4). */
export const CEREMONY_TYPES = ['root', 'intermediate', 'crl', 'custodian-rotation'] as const;
/** A ceremony kind. */
export type CeremonyType = (typeof CEREMONY_TYPES)[number];

/** How the root token is opened (design brief §3, mechanism 1). */
export const ACTIVATION_MODES = ['shares', 'token-pin'] as const;
/**
 * `shares`: the token PIN is a random secret split among custodians (M-of-N Shamir shares sealed
 * under their passphrases); `token-pin`: the token's own PIN or HSM-native quorum (PED, CloudHSM
 * quorum), entered at the workstation.
 */
export type ActivationMode = (typeof ACTIVATION_MODES)[number];

/** A role of the script with its minimum (and optional maximum) number of people. */
export interface RoleSpec {
  min: number;
  max?: number;
  description?: string;
}

/** The declared quorum. */
export interface QuorumSpec {
  /** Threshold: how many custodians must act together. */
  m: number;
  /** How many custodians hold shares. */
  n: number;
  activation: ActivationMode;
}

/** One step of a validated script. `params` is already checked against the action's schema. */
export interface ScriptStep {
  /** 0-based position. */
  index: number;
  id: string;
  title: string;
  action: string;
  params: unknown;
  /** Roles that must sign the step off (one distinct person each). */
  signOff: string[];
  instructions?: string;
}

/** A validated ceremony script (the reviewed plan). */
export interface CeremonyScript {
  version: 1;
  type: CeremonyType;
  id: string;
  title: string;
  description?: string;
  roles: Record<string, RoleSpec>;
  quorum: QuorumSpec;
  steps: ScriptStep[];
  /** SHA-256 (hex) of the exact script bytes; recorded in every ceremony that runs it. */
  sha256: string;
  /** Where it was read from (for messages). */
  source: string;
}

/** A person present at the ceremony, from the site file. */
export interface Participant {
  name: string;
  roles: string[];
}

/** The site file: machine details kept apart from the reviewed plan. */
export interface SiteConfig {
  version: 1;
  /** A name for the place or workstation, for the record. */
  site?: string;
  hsm: {
    /** PKCS#11 module path (absolute). */
    module: string;
    tokenLabel: string;
    tokenSerial?: string;
  };
  /** The CA folder: ceremonies are written under it (absolute). */
  outputDir: string;
  participants: Participant[];
  /** Description of the reference clock used for the clock check (e.g. "GPS clock, rack 2"). */
  referenceClock?: string;
  sha256: string;
  source: string;
}

/** A JSON value stored in records (never a secret). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Status of a step in the persisted record. */
export type StepStatus = 'pending' | 'started' | 'completed' | 'signed';

/** Status of a ceremony in the persisted record. */
export type CeremonyStatus = 'running' | 'completed' | 'aborted';
