/**
 * @module renderer/screens/PlaceholderScreens
 * The ceremony screens that need the ceremony engine (roster, steps, custodian shares, approval,
 * transcript, report), as placeholders that say what each will do and which contract operations
 * it waits for. Each becomes a real screen by adding those entries to electron/ipc/contract.ts.
 *
 * Must never: pretend to run a ceremony step.
 */
import { Placeholder } from '../components/Placeholder.tsx';

/** Roster check-in. */
export function RosterScreen(): React.JSX.Element {
  return (
    <Placeholder
      will={[
        'list the administrator, the custodians and the witnesses named by the script and site file',
        'check each person in (present, identity checked by whom), and show who is still missing',
        'refuse to start until every required role is present (ERR_CEREMONY_ROLE_MISSING)',
      ]}
      waitsFor={['ceremony.roster', 'ceremony.checkIn']}
    />
  );
}

/** Step-by-step view. */
export function StepsScreen(): React.JSX.Element {
  return (
    <Placeholder
      will={[
        'show progress through the script, the current step, what it does and who must sign it off',
        'run the step, then show its result and every fingerprint it produced in reading size',
        'resume an interrupted ceremony from its transcript, showing where it stopped',
      ]}
      waitsFor={['ceremony.plan', 'ceremony.runStep', 'ceremony.signOff', 'ceremony.resume', 'ceremony.onProgress (event)']}
    />
  );
}

/** Custodian share entry. */
export function SharesScreen(): React.JSX.Element {
  return (
    <Placeholder
      will={[
        'ask one custodian at a time for their share, masked, sent straight to the main process (the same entry as the token PIN on the HSM screen)',
        'name a wrong or foreign share at once (ERR_QUORUM_SHARE_TAMPERED, ERR_QUORUM_SHARE_FOREIGN) and let that custodian try again',
        'show how many of the required M shares are in, never the shares themselves',
      ]}
      waitsFor={['quorum.submitShare (secret purpose "custodian-share")', 'quorum.status']}
    />
  );
}

/** Approval review. */
export function ApprovalScreen(): React.JSX.Element {
  return (
    <Placeholder
      will={[
        'show the decoded fields of the certificate to sign (subject, validity, key, extensions)',
        'show its TBS SHA-256 as grouped hex and as words, for every custodian to read aloud',
        'record each custodian’s approve or decline; a decline stops the signature (ERR_QUORUM_APPROVAL_DECLINED)',
      ]}
      waitsFor={['quorum.pendingApproval', 'quorum.approve', 'quorum.decline']}
    />
  );
}

/** Live transcript. */
export function TranscriptScreen(): React.JSX.Element {
  return (
    <Placeholder
      will={['show the ceremony transcript as it is written, record by record', 'verify the finished transcript and show its signature and fingerprint']}
      waitsFor={['transcript.read', 'transcript.verify', 'transcript.onAppended (event)']}
    />
  );
}

/** Final report. */
export function ReportScreen(): React.JSX.Element {
  return (
    <Placeholder
      will={['show the final report with every output and fingerprint', 'print it or save it as PDF', 'list the transfer bundles written, with their paths and hashes']}
      waitsFor={['ceremony.report', 'ceremony.printReport', 'bundle.written']}
    />
  );
}
