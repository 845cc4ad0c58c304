/**
 * @module renderer/screens/RosterScreen
 * Roster check-in: the people the site file lists for today (administrator, custodians, witnesses),
 * each checked in by the administrator once present and identified, against the roles and counts
 * the script requires; the ceremony starts only when every listed person is checked in and the
 * roster satisfies the script.
 *
 * Must never: start a ceremony with someone missing, or let the roster change once it started.
 */
import { useState } from 'react';

import { useApi } from '../api/context.tsx';
import { NoCeremony } from '../ceremony/parts.tsx';
import { useCeremony } from '../ceremony/store.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';

const ROLE_ORDER = ['administrator', 'custodian', 'witness'];

function time(iso: string): string {
  return iso.slice(11, 16);
}

/** The roster check-in screen. */
export function RosterScreen(): React.JSX.Element {
  const api = useApi();
  const { session, accept } = useCeremony();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  if (session === null || session.plan === null || session.site === null) return <NoCeremony what="No ceremony is chosen yet." />;
  const { plan, site } = session;
  const locked = session.phase !== 'prepared';
  const checked = new Map(session.checkIns.map((c) => [c.name, c.at]));
  const roles = [...plan.roles].sort((a, b) => (ROLE_ORDER.indexOf(a.name) + 1 || 99) - (ROLE_ORDER.indexOf(b.name) + 1 || 99));
  const missing = site.participants.filter((p) => !checked.has(p.name));

  const call = async (fn: () => ReturnType<typeof api.ceremony.start>): Promise<void> => {
    setBusy(true);
    const r = await fn();
    setBusy(false);
    if (r.ok) {
      setError(null);
      accept(r.value);
    } else setError(r.error);
  };

  return (
    <>
      <p className="lead">
        {plan.title} <span className="muted">({plan.type} ceremony, quorum {plan.quorum.m} of {plan.quorum.n})</span>
        {site.site !== null && <span className="muted"> at {site.site}</span>}
      </p>
      {locked && <p className="state-warn">The ceremony is under way: the roster is fixed (it is recorded in the transcript).</p>}

      <table className="data-table roles-table">
        <caption>Roles the script requires</caption>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Required</th>
            <th scope="col">Listed</th>
            <th scope="col">Checked in</th>
            <th scope="col">What the role does</th>
          </tr>
        </thead>
        <tbody>
          {roles.map((r) => {
            const holders = site.participants.filter((p) => p.roles.includes(r.name));
            const present = holders.filter((p) => checked.has(p.name)).length;
            const enough = present >= r.min;
            return (
              <tr key={r.name} data-role={r.name}>
                <th scope="row">{r.name}</th>
                <td>{r.max === null ? `at least ${r.min}` : r.max === r.min ? `exactly ${r.min}` : `${r.min} to ${r.max}`}</td>
                <td>{holders.length}</td>
                <td className={enough ? 'state-ok' : 'state-warn'}>
                  {present} {enough ? '✓' : '(not enough yet)'}
                </td>
                <td>{r.description ?? ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>

      {session.rosterProblems.length > 0 && (
        <section className="problems" aria-label="Roster problems">
          <h4>The site file does not provide the people this script requires: fix the site file, then choose it again</h4>
          <ul>
            {session.rosterProblems.map((p, i) => (
              <li key={i} className="problem">
                <code className="problem-path">{p.path}</code>
                <span className="problem-message">{p.message}</span>
              </li>
            ))}
          </ul>
        </section>
      )}

      <section className="check-in" aria-label="Check-in">
        <h3>Check in everyone present</h3>
        <p className="hint">Check each person in once they are in the room and their identity is checked against the review record.</p>
        <ul className="people">
          {site.participants.map((p) => {
            const at = checked.get(p.name);
            return (
              <li key={p.name} className={`person ${at === undefined ? 'person-missing' : 'person-present'}`} data-person={p.name}>
                <span className="person-name">{p.name}</span>
                <span className="person-roles">{p.roles.join(', ')}</span>
                {at === undefined ? (
                  <button type="button" disabled={busy || locked} onClick={() => void call(() => api.ceremony.checkIn({ name: p.name, present: true }))} aria-label={`Check in ${p.name}`}>
                    Check in
                  </button>
                ) : (
                  <span className="person-state">
                    <span className="state-ok">present since {time(at)} UTC</span>{' '}
                    {!locked && (
                      <button type="button" className="secondary" disabled={busy} onClick={() => void call(() => api.ceremony.checkIn({ name: p.name, present: false }))} aria-label={`Undo check-in of ${p.name}`}>
                        Undo
                      </button>
                    )}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      </section>

      {!locked && (
        <section className="start">
          {missing.length > 0 ? <p className="state-warn">Still to check in: {missing.map((p) => p.name).join(', ')}.</p> : <p className="state-ok">Everyone is checked in.</p>}
          <button type="button" className="start-button" disabled={busy || !session.ready} onClick={() => void call(() => api.ceremony.start({}))} data-action="start">
            {session.rehearsal ? 'Start the rehearsal' : 'Start the ceremony'}
          </button>
          <p className="hint">
            The ceremony runs {session.rehearsal ? 'on a throwaway SoftHSM token, every record marked REHEARSAL' : 'on the HSM named in the site file; every action is real'}. Its folder is created in <code>{session.caFolder}</code>.
          </p>
        </section>
      )}
      {error !== null && <ErrorPanel title="That did not work" error={error} />}
    </>
  );
}
