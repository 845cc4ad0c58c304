/**
 * @module renderer/screens/StepsScreen
 * The ceremony step by step: progress through the plan, every step with its state, and for the
 * step in progress (or any step chosen) what it does, its instructions, who must sign it off and
 * who did, its result with every fingerprint in reading size, and what the workstation reported.
 * The question the runner waits on is answered here when it belongs to the steps (sign-offs, the
 * clock, values read out, PINs, the point-of-no-return confirmation); Stop interrupts the run.
 *
 * Must never: answer for a person, or hide that a step crosses the point of no return.
 */
import { useState } from 'react';

import { useApi } from '../api/context.tsx';
import { QuestionForm } from '../ceremony/QuestionForm.tsx';
import { EventLog, NoCeremony, OutcomePanel, Progress, recordOf, ResultView, statusText, StepList, TokenPanel } from '../ceremony/parts.tsx';
import { useCeremony } from '../ceremony/store.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';

/** The step-by-step screen. */
export function StepsScreen(): React.JSX.Element {
  const api = useApi();
  const { session, accept } = useCeremony();
  const [chosen, setChosen] = useState<string | null>(null);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  if (session === null || session.plan === null) return <NoCeremony what="No ceremony is chosen yet." />;
  const plan = session.plan;
  const q = session.question;
  const focusId = chosen ?? q?.step ?? session.currentStep ?? session.ceremony?.next ?? plan.steps[0]?.id ?? null;
  const planned = plan.steps.find((s) => s.id === focusId);
  const record = recordOf(session, focusId);
  const running = session.phase === 'running';

  const stop = async (): Promise<void> => {
    const r = await api.ceremony.interrupt({});
    if (r.ok) accept(r.value);
    else setError(r.error);
  };

  return (
    <>
      <div className="ceremony-head">
        <p className="lead">
          {session.ceremony?.title ?? plan.title}
          {session.ceremony !== null && <span className="muted"> · {session.ceremony.id}</span>}
          {session.ceremony?.rehearsal === true && <span className="rehearsal-tag">REHEARSAL</span>}
        </p>
        <Progress session={session} />
        {running && (
          <div className="toolbar">
            <span className="state-ok" aria-live="polite">
              {q === null ? 'Working…' : 'Waiting for an answer'}
            </span>
            <button type="button" className="secondary danger-outline" onClick={() => void stop()} data-action="stop">
              Stop
            </button>
            <span className="hint">Stop ends the run at once when it waits for an answer, otherwise before the next step. It can be resumed.</span>
          </div>
        )}
        {session.phase === 'prepared' && <p className="hint">The ceremony has not started: check everyone in on the Roster check-in screen (Alt+2) and start it there.</p>}
      </div>
      {error !== null && <ErrorPanel error={error} />}
      <OutcomePanel session={session} />

      {q !== null && q.screen === 'steps' && <QuestionForm key={q.id} question={q} />}

      <div className="steps-layout">
        <nav aria-label="Steps">
          <StepList session={session} selected={focusId} onSelect={(id) => setChosen(id === chosen ? null : id)} />
        </nav>
        {planned !== undefined && (
          <article className="step-detail" data-step={planned.id} aria-labelledby="step-detail-title">
            <h3 id="step-detail-title">
              Step {planned.index + 1} of {plan.steps.length}: {planned.title}
            </h3>
            <p className={`step-state state-${record?.status ?? 'pending'}`}>
              {statusText(record?.status ?? 'pending')}
              {record !== undefined && record.attempt > 1 ? ` (attempt ${record.attempt})` : ''}
            </p>
            {planned.pointOfNoReturn && (
              <p className="ponr-warning" role="note">
                Point of no return: once this step starts, the ceremony can no longer be aborted. The administrator types YES to cross it.
              </p>
            )}
            <h4>What this step does</h4>
            <p>{planned.summary}</p>
            {planned.instructions !== null && (
              <>
                <h4>Instructions</h4>
                <p className="instructions">{planned.instructions}</p>
              </>
            )}
            <h4>Who signs it off</h4>
            {planned.signOff.length === 0 ? (
              <p className="muted">No sign-off: the step completes on its own.</p>
            ) : (
              <ul className="sign-offs">
                {planned.signOff.map((role) => {
                  const by = record?.signedBy.find((s) => s.role === role);
                  return (
                    <li key={role} data-role={role} className={by === undefined ? 'sign-off-open' : 'sign-off-done'}>
                      {role}: {by === undefined ? <span className="state-warn">not signed yet</span> : <span className="state-ok">{by.participant} ({by.at.slice(11, 19)} UTC)</span>}
                    </li>
                  );
                })}
              </ul>
            )}
            {(planned.outputs.length > 0 || planned.keyLabels.length > 0) && (
              <p className="muted">
                Creates: {[...planned.keyLabels.map((l) => `key ‘${l}’ on the token`), ...planned.outputs].join(', ')}
              </p>
            )}
            {record?.result !== null && record?.result !== undefined && (
              <>
                <h4>Result</h4>
                <ResultView result={record.result} />
              </>
            )}
            <EventLog session={session} step={planned.id} />
          </article>
        )}
      </div>
      {session.ceremony !== null && <TokenPanel compact />}
    </>
  );
}
