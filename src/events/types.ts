/** Docker's event message (Engine API `/events`), and the one method publishers need. */

export type EventType = 'container' | 'network' | 'image' | 'daemon' | 'plugin' | 'volume';

export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

export interface EventMessage {
  Type: EventType;
  Action: string;
  Actor: EventActor;
  scope: 'local' | 'swarm';
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds (exact: written to JSON by eventJson, not JSON.stringify). */
  timeNano: bigint;
}

/** What the runtime, the network controller and the image store are given to publish with. */
export interface EventSink {
  publish(type: EventType, action: string, actor: EventActor): void;
}

/** A sink that drops everything (components built without an event bus, e.g. in unit tests). */
export const NO_EVENTS: EventSink = { publish: () => undefined };
