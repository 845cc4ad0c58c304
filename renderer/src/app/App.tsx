/**
 * @module renderer/app/App
 * The workstation frame: the rehearsal (or live) banner on top, the ceremony flow as numbered
 * navigation, the current screen. Keyboard: Tab moves through everything, Alt+1…9 jumps to a
 * screen, Alt+Plus/Alt+Minus change the text size; the screen heading takes focus after each jump.
 * The frame follows the ceremony: when the runner asks a new question, the screen where it is
 * answered comes up (Custodian shares for a custodian, Approval review for a decision, Ceremony
 * steps otherwise), and every other screen shows a strip pointing to it.
 *
 * Must never: hide the rehearsal marking, or hold a secret.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

import { SCREENS, type ScreenId } from '../../../electron/ipc/contract.ts';
import { useApi, useCall } from '../api/context.tsx';
import { CeremonyProvider, useCeremony } from '../ceremony/store.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { ApprovalScreen } from '../screens/ApprovalScreen.tsx';
import { DisplayCheckScreen } from '../screens/DisplayCheckScreen.tsx';
import { HsmScreen } from '../screens/HsmScreen.tsx';
import { ReportScreen } from '../screens/ReportScreen.tsx';
import { RosterScreen } from '../screens/RosterScreen.tsx';
import { ScriptScreen } from '../screens/ScriptScreen.tsx';
import { SharesScreen } from '../screens/SharesScreen.tsx';
import { StepsScreen } from '../screens/StepsScreen.tsx';
import { TranscriptScreen } from '../screens/TranscriptScreen.tsx';

const TEXT_SIZES = 5;

/** The workstation UI (with the ceremony session provider). */
export function App({ transport }: { transport: 'ipc' | 'http' }): React.JSX.Element {
  return (
    <CeremonyProvider>
      <Frame transport={transport} />
    </CeremonyProvider>
  );
}

function Frame({ transport }: { transport: 'ipc' | 'http' }): React.JSX.Element {
  const api = useApi();
  const { session } = useCeremony();
  const [info, reloadInfo] = useCall(() => api.app.info({}));
  const [screen, setScreen] = useState<ScreenId>('script');
  const [textSize, setTextSize] = useState(1);
  const heading = useRef<HTMLHeadingElement>(null);
  const firstRender = useRef(true);

  const go = useCallback((id: ScreenId) => setScreen(id), []);
  const changeText = useCallback((delta: number) => setTextSize((s) => Math.min(TEXT_SIZES - 1, Math.max(0, s + delta))), []);

  useEffect(() => {
    document.documentElement.dataset['textSize'] = String(textSize);
  }, [textSize]);

  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    heading.current?.focus();
  }, [screen]);

  useEffect(() => api.app.onNavigate(({ screen: id }) => go(id)), [api, go]);

  // Follow the ceremony: a new question brings up the screen where it is answered.
  const questionId = session?.question?.id ?? null;
  const questionScreen = session?.question?.screen ?? null;
  useEffect(() => {
    if (questionId !== null && questionScreen !== null) setScreen(questionScreen);
  }, [questionId, questionScreen]);
  // A finished ceremony brings up its report.
  const phase = session?.phase ?? null;
  const previousPhase = useRef(phase);
  useEffect(() => {
    if (previousPhase.current === 'running' && phase === 'completed') setScreen('report');
    if (previousPhase.current === 'running' && (phase === 'stopped' || phase === 'aborted')) setScreen('steps');
    previousPhase.current = phase;
  }, [phase]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const n = Number(e.key);
      if (Number.isInteger(n) && n >= 1 && n <= SCREENS.length) {
        e.preventDefault();
        go(SCREENS[n - 1]!.id);
      } else if (e.key === '+' || e.key === '=') {
        e.preventDefault();
        changeText(1);
      } else if (e.key === '-') {
        e.preventDefault();
        changeText(-1);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [go, changeText]);

  const rehearsal = info.status === 'ok' ? info.value.rehearsal : null;
  const current = SCREENS.find((s) => s.id === screen) ?? SCREENS[0];

  return (
    <div className={`app ${rehearsal === true ? 'mode-rehearsal' : rehearsal === false ? 'mode-live' : 'mode-unknown'}`}>
      <button type="button" className="skip-link" onClick={() => heading.current?.focus()}>
        Skip to the screen
      </button>
      <header className="banner" role="banner">
        {info.status === 'ok' ? (
          info.value.rehearsal ? (
            <div className="mode-flag" data-mode="rehearsal">
              <strong>REHEARSAL</strong>
              <span>{info.value.rehearsalReason}</span>
            </div>
          ) : (
            <div className="mode-flag" data-mode="live">
              <strong>LIVE CEREMONY</strong>
              <span>Every action is real and recorded in the transcript.</span>
            </div>
          )
        ) : (
          <div className="mode-flag" data-mode="unknown">
            <strong>MODE UNKNOWN</strong>
            <span>Do not start until the banner says REHEARSAL or LIVE CEREMONY.</span>
          </div>
        )}
        <div className="banner-side">
          <span className="product">
            {info.status === 'ok' ? `${info.value.product} ${info.value.version}` : 'NEAM CA ceremony workstation'}
            {transport === 'http' ? ' · browser mode' : ' · desktop'}
          </span>
          <span className="text-size" role="group" aria-label="Text size">
            <button type="button" onClick={() => changeText(-1)} aria-label="Smaller text" disabled={textSize === 0}>
              A−
            </button>
            <button type="button" onClick={() => changeText(1)} aria-label="Larger text" disabled={textSize === TEXT_SIZES - 1}>
              A+
            </button>
          </span>
        </div>
      </header>
      {info.status === 'error' && <ErrorPanel title="The workstation host did not answer" error={info.error} onRetry={() => void reloadInfo()} />}
      <div className="frame">
        <nav className="flow" aria-label="Ceremony flow">
          <ol>
            {SCREENS.map((s, i) => (
              <li key={s.id}>
                <button type="button" className={s.id === screen ? 'current' : undefined} aria-current={s.id === screen ? 'page' : undefined} onClick={() => go(s.id)} data-screen={s.id}>
                  <span className="flow-no">{i + 1}</span>
                  <span className="flow-title">{s.title}</span>
                  {session?.question?.screen === s.id && <span className="flow-tag flow-waiting">answer here</span>}
                  <span className="visually-hidden"> (Alt+{i + 1})</span>
                </button>
              </li>
            ))}
          </ol>
        </nav>
        <main className="screen" data-screen={screen}>
          <h2 tabIndex={-1} ref={heading}>
            {current.title}
          </h2>
          {session?.question !== null && session?.question !== undefined && session.question.screen !== screen && (
            <p className="waiting-strip" role="status">
              The ceremony waits for an answer: <strong>{session.question.prompt.replace(/:\s*$/u, '')}</strong>{' '}
              <button type="button" className="link" onClick={() => go(session.question!.screen)}>
                Go to {SCREENS.find((x) => x.id === session.question!.screen)?.title} (Alt+{SCREENS.findIndex((x) => x.id === session.question!.screen) + 1})
              </button>
            </p>
          )}
          {screen === 'script' && <ScriptScreen onContinue={() => go('roster')} />}
          {screen === 'roster' && <RosterScreen />}
          {screen === 'hsm' && <HsmScreen />}
          {screen === 'steps' && <StepsScreen />}
          {screen === 'shares' && <SharesScreen />}
          {screen === 'approval' && <ApprovalScreen />}
          {screen === 'transcript' && <TranscriptScreen />}
          {screen === 'report' && <ReportScreen />}
          {screen === 'display' && <DisplayCheckScreen textSize={textSize} onTextSize={changeText} />}
        </main>
      </div>
    </div>
  );
}
