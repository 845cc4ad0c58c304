/**
 * @module renderer/screens/ApprovalScreen
 * Approval review: the exact certificate or CRL the root key is about to sign, decoded field by
 * field, with the SHA-256 of its to-be-signed bytes in hex and as words, large enough to read
 * aloud across the room; the decision of the person asked (a custodian's approve or decline, signed
 * with their own approval key next, or the administrator's accept or reject of a prepared
 * intermediate); and every decision taken so far in this ceremony.
 *
 * Must never: offer a decision without showing what it is about, or hide a decline.
 */
import { NoCeremony, ReviewPanel } from '../ceremony/parts.tsx';
import { DecisionButtons } from '../ceremony/QuestionForm.tsx';
import { stepTitle, useCeremony } from '../ceremony/store.tsx';

/** The approval review screen. */
export function ApprovalScreen(): React.JSX.Element {
  const { session } = useCeremony();
  if (session === null || session.plan === null) return <NoCeremony what="No ceremony is chosen yet." />;
  const q = session.question;
  const deciding = q !== null && (q.role === 'approval-decision' || q.role === 'review-decision') ? q : null;
  const recent = session.reviews.slice(-4);
  return (
    <>
      {deciding !== null ? (
        <section className="deciding" data-role={deciding.role} aria-label="Decision to take">
          <p className="decider">
            {deciding.role === 'approval-decision' ? (
              <>
                Custodian <strong>{deciding.custodian}</strong>: review what the root key will sign, then approve or decline.
              </>
            ) : (
              <>Administrator: review the intermediate certificate built from the request, then accept or reject it.</>
            )}
          </p>
          {deciding.reviews.length === 0 && <p className="state-warn">The workstation shows no details for this decision; decline or reject it and report this.</p>}
          {deciding.reviews.map((r, i) => (
            <ReviewPanel key={`${r.tbsSha256}-${i}`} review={r} index={i} total={deciding.reviews.length} />
          ))}
          <DecisionButtons question={deciding} />
        </section>
      ) : (
        <section className="empty-state">
          <p className="lead">No decision is waiting.</p>
          {q !== null && q.screen === 'shares' && q.step !== null && session.custodians?.mode === 'approval' && <p>The custodian at the workstation gives their custodian file first (Custodian shares, Alt+5).</p>}
        </section>
      )}

      <section className="decisions" aria-label="Decisions taken">
        <h3>Decisions in this ceremony</h3>
        {session.decisions.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <table className="data-table decisions-table">
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Who</th>
                <th scope="col">About</th>
                <th scope="col">Decision</th>
                <th scope="col">Time (UTC)</th>
              </tr>
            </thead>
            <tbody>
              {session.decisions.map((d, i) => (
                <tr key={i} className={d.decision === 'decline' || d.decision === 'reject' ? 'row-bad' : undefined} data-decision={d.decision} data-who={d.who}>
                  <td>{stepTitle(session, d.step)}</td>
                  <th scope="row">{d.who}</th>
                  <td>{d.subject}</td>
                  <td className={d.decision === 'decline' || d.decision === 'reject' ? 'state-bad' : 'state-ok'}>{d.decision}</td>
                  <td>{d.at.slice(11, 19)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {deciding === null && recent.length > 0 && (
        <section className="recent-reviews" aria-label="Recently reviewed">
          <h3>Recently reviewed</h3>
          {recent.map((r, i) => (
            <ReviewPanel key={`${r.tbsSha256}-${i}`} review={r} />
          ))}
        </section>
      )}
    </>
  );
}
