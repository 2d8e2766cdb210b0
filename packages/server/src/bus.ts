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
  publish(topic: string, message: unknown): void;
  /** Returns the function that unsubscribes. */
  subscribe(topic: string, handler: (message: unknown) => void): () => void;
  close(): Promise<void>;
}

/** Single-process bus: synchronous fan-out, no copies. */
export class InProcessBus implements Bus {
  private readonly topics = new Map<string, Set<(message: unknown) => void>>();

  publish(topic: string, message: unknown): void {
    const handlers = this.topics.get(topic);
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

  subscribe(topic: string, handler: (message: unknown) => void): () => void {
    let handlers = this.topics.get(topic);
    if (!handlers) this.topics.set(topic, (handlers = new Set()));
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0) this.topics.delete(topic);
    };
  }

  async close(): Promise<void> {
    this.topics.clear();
  }
}

export const topics = {
  device: (id: string) => `device:${id}`,
  session: (id: string) => `session:${id}`,
  fleet: 'fleet',
} as const;
