import type { Envelope, SessionStatus, StreamEvent } from '@fabric/protocol';

/**
 * Carries messages between the node that owns a device socket and whoever
 * watches the device's sessions. Topics:
 * - `device:<id>`: envelopes and control messages to deliver to a device;
 * - `session:<id>`: persisted session events, in sequence order;
 * - `fleet`: device and session state changes, for live dashboards.
 *
 * Delivery is at-most-once and in publish order per topic; subscribers must
 * tolerate gaps (session streams re-read the store when they see one).
 * The NATS implementation slots in behind this interface.
 */
export interface Bus {
  publish<M>(topic: Topic<M>, message: M): void;
  /** Returns the function that unsubscribes. */
  subscribe<M>(topic: Topic<M>, handler: (message: M) => void): () => void;
  close(): Promise<void>;
}

/** A topic's name, typed with the messages it carries: publishing the wrong message is a type error. */
export interface Topic<M> {
  readonly name: string;
  /** Never set; it carries `M` for the type checker. */
  readonly message?: M;
}

/** Messages on a `device:<id>` topic, carried out by the node that holds that device's socket: send an envelope, or close. */
export type DeviceCommand = { type: 'send'; envelope: Envelope } | { type: 'close'; code: number; reason: string };

/** Messages on the `fleet` topic. */
export type FleetChange =
  | { type: 'device'; id: string; online: boolean }
  | { type: 'session'; id: string; status: SessionStatus; deviceId: string | null }
  | { type: 'board'; cardId: string };

/** Single-process bus: synchronous fan-out, no copies. */
export class InProcessBus implements Bus {
  private readonly topics = new Map<string, Set<(message: never) => void>>();

  publish<M>(topic: Topic<M>, message: M): void {
    const handlers = this.topics.get(topic.name) as Set<(message: M) => void> | undefined;
    if (!handlers) return;
    for (const handler of [...handlers]) {
      try {
        handler(message);
      } catch (err) {
        // One broken subscriber must not starve the others.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  subscribe<M>(topic: Topic<M>, handler: (message: M) => void): () => void {
    let handlers = this.topics.get(topic.name) as Set<(message: M) => void> | undefined;
    if (!handlers) this.topics.set(topic.name, (handlers = new Set()));
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0) this.topics.delete(topic.name);
    };
  }

  async close(): Promise<void> {
    this.topics.clear();
  }
}

export const topics = {
  device: (id: string): Topic<DeviceCommand> => ({ name: `device:${id}` }),
  session: (id: string): Topic<StreamEvent> => ({ name: `session:${id}` }),
  fleet: { name: 'fleet' } as Topic<FleetChange>,
} as const;
