/**
 * Docker's event filters (moby daemon/events/filter.go semantics): every given key must match.
 *   type, scope: exact; event: exact on Action (prefix when the filter names exec_create,
 *   exec_start or health_status, whose Actions carry ": <command>"); container, network,
 *   plugin, volume, daemon: id or name, exact or prefix — applied to every event, so
 *   `container=x` keeps only events whose actor is x; image: the id, the image name (container
 *   events: their image attribute), with or without the tag; label: `k` or `k=v` on the actor's
 *   attributes.
 */
import type { EventMessage } from './types.js';

export type EventFilters = Record<string, string[]>;

const FUZZY_EVENTS = new Set(['health_status', 'exec_create', 'exec_start']);

function exact(f: EventFilters, key: string, value: string): boolean {
  const want = f[key];
  return !want?.length || want.includes(value);
}

function fuzzy(f: EventFilters, key: string, value: string): boolean {
  const want = f[key];
  return !want?.length || want.some((w) => value === w || value.startsWith(w));
}

function byName(f: EventFilters, ev: EventMessage, key: string): boolean {
  if (!f[key]?.length) return true;
  return fuzzy(f, key, ev.Actor.ID) || fuzzy(f, key, ev.Actor.Attributes.name ?? '');
}

/** `docker.io/library/busybox:1.36@sha256:…` → `busybox` (Docker's familiar name, no tag). */
export function stripTag(image: string): string {
  let s = image.replace(/@.*$/, '');
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) s = s.slice(0, colon);
  return s.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

function image(f: EventFilters, ev: EventMessage): boolean {
  if (!f.image?.length) return true;
  const name = (ev.Type === 'image' ? ev.Actor.Attributes.name : ev.Actor.Attributes.image) ?? '';
  return [ev.Actor.ID, name, stripTag(ev.Actor.ID), stripTag(name)].some((v) => v !== '' && f.image!.includes(v));
}

function labels(f: EventFilters, attrs: Record<string, string>): boolean {
  return (f.label ?? []).every((l) => {
    const i = l.indexOf('=');
    return i < 0 ? l in attrs : attrs[l.slice(0, i)] === l.slice(i + 1);
  });
}

export function eventFilter(f: EventFilters): (ev: EventMessage) => boolean {
  const event = (ev: EventMessage) =>
    (f.event ?? []).some((e) => FUZZY_EVENTS.has(e)) ? fuzzy(f, 'event', ev.Action) : exact(f, 'event', ev.Action);
  return (ev) =>
    event(ev) &&
    exact(f, 'type', ev.Type) &&
    exact(f, 'scope', ev.scope) &&
    byName(f, ev, 'daemon') &&
    byName(f, ev, 'container') &&
    byName(f, ev, 'plugin') &&
    byName(f, ev, 'volume') &&
    byName(f, ev, 'network') &&
    image(f, ev) &&
    labels(f, ev.Actor.Attributes);
}
