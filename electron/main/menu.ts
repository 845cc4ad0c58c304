/**
 * @module electron/main/menu
 * The application menu as a template (data with callbacks): screens in ceremony order with
 * Alt+number accelerators, zoom for reading at a distance, quit. No help links, no devtools item
 * and nothing that opens a browser: the machine is air-gapped.
 *
 * Only type imports from `electron`. Must never: add an item that opens a URL or external program.
 */
import type { MenuItemConstructorOptions } from 'electron';

import { SCREENS, type ScreenId } from '../ipc/screens.ts';

/** Builds the menu template. */
export function menuTemplate(actions: { navigate: (screen: ScreenId) => void }): MenuItemConstructorOptions[] {
  return [
    { label: 'Workstation', submenu: [{ role: 'quit', label: 'Quit', accelerator: 'CmdOrCtrl+Q' }] },
    {
      label: 'Ceremony',
      submenu: SCREENS.map((s, i) => ({ label: s.title, accelerator: `Alt+${i + 1}`, click: () => actions.navigate(s.id) })),
    },
    {
      label: 'View',
      submenu: [
        { role: 'zoomIn', accelerator: 'CmdOrCtrl+=' },
        { role: 'zoomOut', accelerator: 'CmdOrCtrl+-' },
        { role: 'resetZoom', accelerator: 'CmdOrCtrl+0' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
  ];
}
