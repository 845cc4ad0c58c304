/**
 * @module electron/host/events
 * The one place handlers send contract events from. Handlers are built before the window or the
 * loopback server exists, so they emit through an {@link EventHub} whose delivery is attached
 * later by the composition root (Electron: every workstation window; loopback: every connected
 * page). Payloads are validated against the contract before delivery.
 *
 * Must never: deliver a payload the contract does not describe, or throw into a handler because
 * nobody is listening yet.
 */
import { createEmitters } from './router.ts';
import { contract, type Contract } from '../ipc/contract.ts';
import type { Emitters } from '../ipc/schema.ts';

/** Delivers a validated event on its channel. */
export type EventSender = (channel: string, payload: unknown) => void;

/** Late-bound, validated contract emitters. */
export class EventHub {
  #send: EventSender | undefined;
  /** One emit function per event entry of the contract (validated). */
  readonly emit: Emitters<Contract> = createEmitters(contract, (channel, payload) => this.#send?.(channel, payload));

  /** Connects delivery (replaces an earlier one). */
  attach(send: EventSender): void {
    this.#send = send;
  }
}
