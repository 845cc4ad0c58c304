// Ceremony workstation UI (React). The full UI arrives with the desktop-app issue; this entry
// point exists so the renderer's type-check and lint boundaries are in place from the start.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

function App(): React.JSX.Element {
  return <main><h1>NEAM CA ceremony workstation</h1></main>;
}

const root = document.getElementById('root');
if (root !== null) createRoot(root).render(<StrictMode><App /></StrictMode>);
