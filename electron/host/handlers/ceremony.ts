/**
 * @module electron/host/handlers/ceremony
 * Handlers of the `ceremony` group: thin adapters from the contract to the host's
 * {@link CeremonySession} (electron/host/ceremony/session.ts), which runs core's ceremony runner in
 * this process and talks to the people in the room through the contract: the runner's questions
 * become the session's waiting question, answers come back through `answer` and `answerSecret`.
 *
 * Must never: return a secret, or accept a secret other than as a vault handle.
 */
import type { Contract, Handlers } from '../../ipc/contract.ts';
import type { HandlerDeps } from './deps.ts';

/** The `ceremony` handlers. */
export function ceremonyHandlers(deps: HandlerDeps): Handlers<Contract>['ceremony'] {
  const s = deps.ceremony;
  return {
    session: () => s.view(),
    prepare: (r) => s.prepare(r.script, r.site),
    checkIn: (r) => s.checkIn(r.name, r.present),
    start: () => s.start(),
    answer: (r) => s.answer(r.question, r.answer),
    answerSecret: (r) => s.answerSecret(r.question, r.secret, r.again),
    interrupt: () => s.interrupt(),
    list: (r) => s.list(r.site),
    resume: (r) => s.resume(r.target),
    abort: (r) => s.abort(r.reason, r.target),
    token: () => s.token(),
    journal: (r) => s.journal(r.after),
    verifyTranscript: () => s.verifyTranscript(),
    report: () => s.report() as ReturnType<Handlers<Contract>['ceremony']['report']>,
    saveReport: () => s.saveReport(),
  };
}
