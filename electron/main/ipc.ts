/**
 * @module electron/main/ipc
 * Registers one `ipcMain.handle` per invoke channel of the contract, each checking the sender
 * before the shared route (parse, call core, check the reply) runs, and sends contract events
 * to our windows.
 *
 * Only type imports from `electron`. Must never: register `ipcMain.on`/`sendSync` listeners, a
 * catch-all channel, or a channel that is not in the contract.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';

import type { Logger } from '../../core/log/logger.ts';
import { failure, type Result } from '../ipc/schema.ts';
import type { Router } from '../host/router.ts';
import { isTrustedSender, type SenderFacts } from './security.ts';

/** What the sender check needs from an invoke event. */
export function senderFacts(event: Pick<IpcMainInvokeEvent, 'senderFrame' | 'sender'>): SenderFacts {
  const frame = event.senderFrame;
  return {
    frameUrl: frame === null ? null : frame.url,
    isMainFrame: frame !== null && frame.parent === null,
    webContentsId: event.sender.id,
  };
}

/** Registers every route on `ipcMain`; returns the channels registered. */
export function registerIpc(
  ipcMain: Pick<IpcMain, 'handle'>,
  router: Router,
  trustedWebContents: ReadonlySet<number>,
  logger: Logger,
): string[] {
  const channels: string[] = [];
  for (const [channel, route] of router) {
    ipcMain.handle(channel, async (event: IpcMainInvokeEvent, raw: unknown): Promise<Result<unknown>> => {
      if (!isTrustedSender(senderFacts(event), trustedWebContents)) {
        logger.warn('IPC refused: untrusted sender', { channel });
        return failure('ERR_APP_FORBIDDEN', 'this request did not come from the workstation window and was refused');
      }
      return route(raw, { host: 'electron' });
    });
    channels.push(channel);
  }
  return channels;
}

/** Delivers an (already validated) event to every live window. */
export function windowSender(targets: () => ReadonlyArray<{ webContents: Pick<WebContents, 'send' | 'isDestroyed'> }>): (channel: string, payload: unknown) => void {
  return (channel, payload) => {
    for (const t of targets()) if (!t.webContents.isDestroyed()) t.webContents.send(channel, payload);
  };
}
