/**
 * @module electron/ipc/screens
 * The screens of the ceremony workstation in ceremony order, with their titles. Shared by the
 * renderer (navigation) and the main process (application menu, `app.navigate` events).
 *
 * Pure data. Must never: import anything.
 */

/** Screen ids and titles, in the order a ceremony walks through them. */
export const SCREENS = [
  { id: 'script', title: 'Script & site' },
  { id: 'roster', title: 'Roster check-in' },
  { id: 'hsm', title: 'HSM & token' },
  { id: 'steps', title: 'Ceremony steps' },
  { id: 'shares', title: 'Custodian shares' },
  { id: 'approval', title: 'Approval review' },
  { id: 'transcript', title: 'Transcript' },
  { id: 'report', title: 'Final report' },
  { id: 'display', title: 'Display check' },
] as const;

/** A screen id. */
export type ScreenId = (typeof SCREENS)[number]['id'];

/** The ids, for schemas. */
export const SCREEN_IDS = SCREENS.map((s) => s.id) as unknown as readonly [ScreenId, ...ScreenId[]];
