// Typed events, so a CLI or a test can watch the emulator without it ever printing.

import type { RequestLogEntry } from './request-log.ts';
import type { RawAuditRecord } from './state.ts';

export interface WriteEvent {
  method: string;
  path: string;
  /** The audit records the write added. */
  records: RawAuditRecord[];
}

export interface EmulatorEvents {
  /** Every answered (or dropped) request, as logged. */
  request: RequestLogEntry;
  /** Every write applied to the state. */
  write: WriteEvent;
  /** Something went wrong inside the emulator (a handler bug, a failed state file write). */
  error: Error;
}

export type EmulatorEventName = keyof EmulatorEvents;
export type EmulatorListener<K extends EmulatorEventName> = (payload: EmulatorEvents[K]) => void;

export class EmulatorEventBus {
  private readonly listeners: { [K in EmulatorEventName]: Set<EmulatorListener<K>> } = {
    request: new Set(),
    write: new Set(),
    error: new Set(),
  };

  /** Adds a listener; returns a function that removes it. */
  on<K extends EmulatorEventName>(name: K, listener: EmulatorListener<K>): () => void {
    const set = this.listeners[name] as Set<EmulatorListener<K>>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit<K extends EmulatorEventName>(name: K, payload: EmulatorEvents[K]): void {
    for (const listener of this.listeners[name] as Set<EmulatorListener<K>>) {
      try {
        listener(payload);
      } catch {
        // A listener's bug must not break the request that triggered it.
      }
    }
  }
}
