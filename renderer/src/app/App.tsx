/**
 * @module renderer/app/App
 * The workstation frame: the rehearsal (or live) banner on top, the ceremony flow as numbered
 * navigation, the current screen. Keyboard: Tab moves through everything, Alt+1…9 jumps to a
 * screen, Alt+Plus/Alt+Minus change the text size; the screen heading takes focus after each jump.
 *
 * Must never: hide the rehearsal marking, or hold a secret.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

import { SCREENS, type ScreenId } from '../../../electron/ipc/contract.ts';
import { useApi, useCall } from '../api/context.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { DisplayCheckScreen } from '../screens/DisplayCheckScreen.tsx';
import { HsmScreen } from '../screens/HsmScreen.tsx';
import { ApprovalScreen, ReportScreen, RosterScreen, SharesScreen, StepsScreen, TranscriptScreen } from '../screens/PlaceholderScreens.tsx';
import { ScriptScreen } from '../screens/ScriptScreen.tsx';

/** Screens that work today; the others are placeholders until the ceremony engine lands. */
const WORKING: ReadonlySet<ScreenId> = new Set(['script', 'hsm', 'display']);
const TEXT_SIZES = 5;

export function App({ transport }: { transport: 'ipc' | 'http' }): React.JSX.Element {
  const api = useApi();
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
                  {!WORKING.has(s.id) && <span className="flow-tag">needs engine</span>}
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
          {screen === 'script' && <ScriptScreen />}
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
