/**
 * @module renderer/main
 * Entry point of the workstation UI: picks the API (Electron preload, or the loopback transport in
 * browser mode) and renders the app. Nothing else differs between the two modes.
 *
 * Must never: import Node built-ins or core at runtime.
 */

// First: zod must not probe code generation (a Trusted Types violation) when the contract loads.
import './zod-jitless.ts';

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { selectApi } from './api/api.ts';
import { ApiProvider } from './api/context.tsx';
import { App } from './app/App.tsx';

const root = document.getElementById('root');
if (root !== null) {
  const { api, transport } = selectApi(window);
  createRoot(root).render(
    <StrictMode>
      <ApiProvider api={api}>
        <App transport={transport} />
      </ApiProvider>
    </StrictMode>,
  );
}
