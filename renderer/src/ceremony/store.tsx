/**
 * @module renderer/ceremony/store
 * The ceremony session as the screens see it: the main side's session (script, plan, roster,
 * record, the question waiting for an answer), kept current from the `ceremony.changed` events and
 * from every operation's reply (the newest revision wins), and the journal, kept current from
 * `ceremony.journaled` events. A slow poll covers a dropped event stream while a ceremony runs.
 *
 * Must never: hold a secret (the session carries questions, never answers).
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';

import type { IpcError, ReplyOf } from '../api/api.ts';
import { useApi } from '../api/context.tsx';

/** The session (contract `ceremony.session`). */
export type Session = ReplyOf<'ceremony', 'session'>;
/** One journal entry. */
export type JournalEntry = ReplyOf<'ceremony', 'journal'>['entries'][number];
/** The waiting question. */
export type Question = NonNullable<Session['question']>;

interface CeremonyContextValue {
  session: Session | null;
  /** Why the session could not be read (host unavailable). */
  error: IpcError | null;
  journal: JournalEntry[];
  /** Takes a session from an operation's reply (ignored when older than the one shown). */
  accept: (s: Session) => void;
  refresh: () => Promise<void>;
}

const CeremonyContext = createContext<CeremonyContextValue | null>(null);

/** Provides the ceremony session to the screens. */
export function CeremonyProvider({ children }: { children: ReactNode }): React.JSX.Element {
  const api = useApi();
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  const [journal, setJournal] = useState<JournalEntry[]>([]);
  const uuid = useRef<string | null>(null);

  const accept = useCallback((s: Session) => {
    setSession((cur) => (cur !== null && cur.revision > s.revision ? cur : s));
  }, []);

  const refresh = useCallback(async () => {
    const r = await api.ceremony.session({});
    if (r.ok) {
      setError(null);
      accept(r.value);
    } else setError(r.error);
  }, [api, accept]);

  useEffect(() => {
    void refresh();
    return api.ceremony.onChanged((s) => accept(s));
  }, [api, accept, refresh]);

  // The journal follows the ceremony on screen: reloaded when another ceremony appears.
  const ceremonyUuid = session?.ceremony?.uuid ?? null;
  useEffect(() => {
    uuid.current = ceremonyUuid;
    setJournal([]);
    if (ceremonyUuid === null) return;
    let stop = false;
    void (async () => {
      let after = 0;
      for (;;) {
        const r = await api.ceremony.journal({ after });
        if (stop || !r.ok) return;
        const entries = r.value.entries;
        setJournal((cur) => merge(cur, entries));
        if (entries.length === 0 || r.value.total <= entries[entries.length - 1]!.seq) return;
        after = entries[entries.length - 1]!.seq;
      }
    })();
    return () => {
      stop = true;
    };
  }, [api, ceremonyUuid]);

  useEffect(() => api.ceremony.onJournaled((e) => setJournal((cur) => (uuid.current === null ? cur : merge(cur, [e])))), [api]);

  const running = session?.phase === 'running';
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => void refresh(), 4000);
    return () => window.clearInterval(timer);
  }, [running, refresh]);

  const value = useMemo(() => ({ session, error, journal, accept, refresh }), [session, error, journal, accept, refresh]);
  return <CeremonyContext.Provider value={value}>{children}</CeremonyContext.Provider>;
}

/** Union by sequence number, in order (events and the catch-up read may arrive in any order). */
function merge(cur: JournalEntry[], more: readonly JournalEntry[]): JournalEntry[] {
  const have = new Set(cur.map((e) => e.seq));
  const fresh = more.filter((e) => !have.has(e.seq));
  if (fresh.length === 0) return cur;
  return [...cur, ...fresh].sort((a, b) => a.seq - b.seq);
}

/** The ceremony session and journal. */
export function useCeremony(): CeremonyContextValue {
  const v = useContext(CeremonyContext);
  if (v === null) throw new TypeError('useCeremony outside CeremonyProvider');
  return v;
}

/** Title of a step by id, from the plan. */
export function stepTitle(session: Session, id: string | null): string {
  if (id === null) return '';
  return session.plan?.steps.find((s) => s.id === id)?.title ?? id;
}
