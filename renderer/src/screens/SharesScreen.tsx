/**
 * @module renderer/screens/SharesScreen
 * Custodians at the workstation, one at a time: who takes part in the current custodian step
 * (enrollment, opening the token with M shares, approvals, co-signing the transcript), who is done,
 * who is at the keyboard now, and their entry: the path of their custodian file (or the folder of
 * their medium) and their passphrase, masked, straight to the main side. A wrong passphrase, or a
 * foreign, tampered, duplicate or misplaced file is named at once with its code and what to do, and
 * the custodian tries again.
 *
 * Must never: show a share or a passphrase, or let two custodians type at once.
 */
import { NoCeremony } from '../ceremony/parts.tsx';
import { QuestionForm } from '../ceremony/QuestionForm.tsx';
import { stepTitle, useCeremony } from '../ceremony/store.tsx';

const MODE_TITLES = {
  enrollment: 'Enrolling the custodians',
  activation: 'Opening the token: custodians enter their shares',
  approval: 'Approvals: each custodian decides and signs',
  'co-sign': 'Co-signing the transcript',
} as const;

const MODE_HELP = {
  enrollment: 'Each custodian in turn inserts their own medium and types a new passphrase twice. Their custodian file (their share and approval key, sealed under the passphrase) is written to the medium and read back before the next custodian comes forward.',
  activation: 'Each custodian in turn gives the path of their custodian file and types their passphrase. The file is checked against the roster before the passphrase is asked; a wrong passphrase or a foreign, tampered or duplicate share is named at once.',
  approval: 'Each custodian in turn gives their custodian file, reviews what is to be signed (Approval review), decides, and signs the decision with their passphrase.',
  'co-sign': 'The custodians named open their approval keys with their passphrases to co-sign the closing record of the transcript.',
} as const;

/** The custodian share entry screen. */
export function SharesScreen(): React.JSX.Element {
  const { session } = useCeremony();
  if (session === null || session.plan === null) return <NoCeremony what="No ceremony is chosen yet." />;
  const flow = session.custodians;
  const q = session.question;
  const here = q !== null && q.screen === 'shares' ? q : null;
  const name = here?.custodian ?? null;
  const position = flow === null || name === null ? -1 : flow.names.indexOf(name);
  const who = name === null ? undefined : position >= 0 && flow !== null ? `Custodian ${position + 1} of ${flow.names.length}: ${name}` : `Custodian: ${name}`;
  return (
    <>
      <p className="lead">
        Quorum: {session.plan.quorum.m} of {session.plan.quorum.n} custodians (activation by {session.plan.quorum.activation === 'shares' ? 'shares' : 'the token PIN'}).
      </p>
      {flow === null && here === null && (
        <section className="empty-state">
          <p>No custodian is needed at the workstation right now.</p>
          {q !== null && <p className="hint">The ceremony waits for an answer on another screen.</p>}
        </section>
      )}
      {flow !== null && (
        <section className="custodian-flow" data-mode={flow.mode} aria-label="Custodians in this step">
          <h3>
            {MODE_TITLES[flow.mode]}
            {flow.step !== null && <span className="muted"> — step ‘{stepTitle(session, flow.step)}’</span>}
          </h3>
          <p className="hint">{MODE_HELP[flow.mode]}</p>
          {flow.mode === 'activation' && (
            <p className="share-count" data-have={flow.done.length} data-needed={flow.needed}>
              {flow.done.length} of {flow.needed} shares entered{flow.done.length >= flow.needed ? ': the token opens' : ''}
            </p>
          )}
          <ol className="custodians">
            {flow.names.map((name, i) => {
              const done = flow.done.find((d) => d.name === name);
              const current = flow.current === name;
              return (
                <li key={name} className={`custodian ${done !== undefined ? 'custodian-done' : current ? 'custodian-current' : 'custodian-waiting'}`} data-custodian={name}>
                  <span className="custodian-no">{i + 1}</span>
                  <span className="custodian-name">{name}</span>
                  <span className="custodian-state">{done !== undefined ? `${done.note} (${done.at.slice(11, 19)} UTC)` : current ? 'at the workstation now' : 'waiting'}</span>
                </li>
              );
            })}
          </ol>
        </section>
      )}
      {here !== null && (
        <section className="custodian-entry" aria-label="Entry of the custodian at the workstation">
          {who !== undefined && <p className="custodian-now">{who}: come to the workstation. Nobody else looks at the keyboard.</p>}
          <QuestionForm key={here.id} question={here} who={who} />
        </section>
      )}
    </>
  );
}
