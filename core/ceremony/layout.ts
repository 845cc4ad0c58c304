/**
 * @module ceremony/layout
 * Where things live: the CA folder (the site file's `output-dir`, or its `rehearsal/` sub-folder
 * for rehearsals) holds one folder per ceremony under `ceremonies/`, and, for rehearsals, the
 * throwaway SoftHSM token directory `softhsm/`. A ceremony folder holds the state database, copies
 * of the script and site file it ran, the transcript, and the outputs.
 *
 * Must never: let an output take a reserved name.
 */
import { join } from 'node:path';

/** Fixed files of a ceremony folder. */
export const CEREMONY_FILES = {
  db: 'ceremony.sqlite',
  script: 'script.yaml',
  site: 'site.yaml',
  lock: 'ceremony.lock',
  rehearsalMarker: 'REHEARSAL.txt',
  transcript: 'transcript.jsonl',
  incomplete: 'incomplete',
} as const;

/** Names outputs may not take (the fixed files, SQLite's side files, the transcript report). */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(CEREMONY_FILES),
  `${CEREMONY_FILES.db}-wal`,
  `${CEREMONY_FILES.db}-shm`,
  `${CEREMONY_FILES.db}-journal`,
  'transcript.html',
  'transcript.pdf',
]);

/** The CA folder for live ceremonies or rehearsals. */
export function caHomeOf(outputDir: string, rehearsal: boolean): string {
  return rehearsal ? join(outputDir, 'rehearsal') : outputDir;
}

/** The throwaway SoftHSM directory of a rehearsal CA folder. */
export function rehearsalSoftHsmDir(caHome: string): string {
  return join(caHome, 'softhsm');
}

/** `YYYY-MM-DDTHHMMSSZ-<script id>`: a ceremony folder name (sortable, no colons). */
export function ceremonyFolderName(now: Date, scriptId: string): string {
  return `${now.toISOString().slice(0, 19).replace(/:/gu, '')}Z-${scriptId}`;
}
