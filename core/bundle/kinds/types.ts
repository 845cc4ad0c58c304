/**
 * @module bundle/kinds/types
 * The contract of a bundle kind: the schema of its `payload/index.json`, which payload files the
 * index references (and with which media type), structural checks that hold in both directions,
 * checks of an incoming bundle against our state (pinned roots, CSRs we sent), and what importing
 * or creating it records. Other domains add richer incoming checks as {@link KindValidator}s.
 *
 * Must never: perform I/O other than through the {@link BundleState} it is given, or change state
 * outside `onImport`/`onCreate` (which run inside the import/create transaction).
 */
import type { z } from 'zod';

import type { BundleKind, Manifest } from '../manifest.ts';
import type { BundleState } from '../state.ts';

/** Path of the kind descriptor every bundle carries. */
export const INDEX_PATH = 'payload/index.json';

/** What a kind check sees. */
export interface KindInput<I> {
  readonly manifest: Manifest;
  readonly manifestSha256: string;
  /** The parsed, schema-checked `payload/index.json`. */
  readonly index: I;
  /** Payload files by path (already hash-checked against the manifest). */
  readonly files: ReadonlyMap<string, Buffer>;
  readonly now: Date;
}

/** What a check of an incoming (or outgoing) bundle sees in addition. */
export interface ChannelContext<I> extends KindInput<I> {
  /** The peer that sent (incoming) or will receive (outgoing) the bundle. */
  readonly peer: string;
  readonly state: BundleState;
}

/** A file the index references. */
export interface FileReference {
  readonly path: string;
  readonly mediaType: string;
  /** Dotted path of the index field, for messages (`certificates.0.chain`). */
  readonly field: string;
}

/** One bundle kind. */
export interface KindHandler<I = unknown> {
  readonly kind: BundleKind;
  /** Human description. */
  readonly description: string;
  /** Strict schema of `payload/index.json`. */
  readonly indexSchema: z.ZodType<I>;
  /** Files the index references (every other payload file is refused). */
  references(index: I): FileReference[];
  /** Structural checks (both directions). Throws a CoreError. */
  validate(input: KindInput<I>): void;
  /** Checks before creating a bundle to `peer`. */
  checkOutgoing?(ctx: ChannelContext<I>): void;
  /** Checks of an incoming bundle against our state. */
  checkIncoming?(ctx: ChannelContext<I>): void;
  /** Records kind-specific state inside the import transaction. */
  onImport?(ctx: ChannelContext<I>): void;
  /** Records kind-specific state inside the create transaction. */
  onCreate?(ctx: ChannelContext<I>): void;
}

/** An extra incoming check registered by another domain (throws a CoreError to refuse). */
export type KindValidator = (ctx: ChannelContext<unknown>) => void;
