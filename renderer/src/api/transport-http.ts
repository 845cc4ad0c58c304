/**
 * @module renderer/api/transport-http
 * The browser-mode transport: contract calls as `POST <base>/api/<channel>` with a JSON body, and
 * contract events from one server-sent event stream at `<base>/events`. `<base>` is the page's own
 * folder, which carries the loopback host's per-launch token, so no credential is handled here.
 *
 * Must never: call another origin, send credentials, or follow redirects.
 */
import type { Transport } from '../../../electron/ipc/schema.ts';

/** Builds the transport for a base URL ending in `/`. */
export function createHttpTransport(base: URL): Transport {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let source: EventSource | null = null;

  const ensureSource = (): EventSource => {
    source ??= new EventSource(new URL('events', base));
    return source;
  };

  return {
    async invoke(channel, request) {
      const response = await fetch(new URL(`api/${channel}`, base), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(request),
        cache: 'no-store',
        credentials: 'omit',
        redirect: 'error',
        referrerPolicy: 'no-referrer',
      });
      return (await response.json()) as unknown;
    },
    subscribe(channel, listener) {
      let set = listeners.get(channel);
      if (set === undefined) {
        set = new Set();
        listeners.set(channel, set);
        const forward = set;
        ensureSource().addEventListener(channel, (event) => {
          let payload: unknown;
          try {
            payload = JSON.parse((event as MessageEvent<string>).data);
          } catch {
            return;
          }
          for (const l of forward) l(payload);
        });
      }
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },
  };
}
