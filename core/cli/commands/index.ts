/**
 * @module cli/commands
 * The registry of `neam-ca` commands: each domain contributes its list.
 */
import type { Command } from '../command.ts';
import { AGENT_COMMANDS } from './agent.ts';
import { BUNDLE_COMMANDS } from './bundle.ts';
import { CA_COMMANDS, INSPECT_COMMANDS } from './ca.ts';
import { CEREMONY_COMMANDS } from './ceremony.ts';
import { DEMO_COMMANDS } from './demo.ts';
import { HSM_COMMANDS } from './hsm.ts';
import { ONLINE_COMMANDS } from './online.ts';
import { ISTIO_COMMANDS } from './istio.ts';
import { QUORUM_COMMANDS } from './quorum.ts';
import { TRANSCRIPT_COMMANDS } from './transcript.ts';
import { VERSION_COMMANDS } from './version.ts';

/** Every command, in help order. */
export const COMMANDS: readonly Command[] = [
  ...DEMO_COMMANDS,
  ...HSM_COMMANDS,
  ...CA_COMMANDS,
  ...BUNDLE_COMMANDS,
  ...INSPECT_COMMANDS,
  ...QUORUM_COMMANDS,
  ...CEREMONY_COMMANDS,
  ...TRANSCRIPT_COMMANDS,
  ...ONLINE_COMMANDS,
  ...AGENT_COMMANDS,
  ...ISTIO_COMMANDS,
  ...VERSION_COMMANDS,
];
