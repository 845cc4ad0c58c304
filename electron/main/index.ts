// Electron main process (composition root). The hardened shell arrives with the desktop-app
// issue; this file is type-checked against Electron's own type definitions from the start.
import { app } from 'electron';

app.on('window-all-closed', () => app.quit());
