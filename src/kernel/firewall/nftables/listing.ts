/**
 * What tsnet's table holds, read from `nft -j list table` output: chains with their rules'
 * comments, and elements with their key in nft syntax and their comment. Pure.
 */
import type { NftObject } from './runner.js';

export interface KernelElement {
  set: string;
  /** The key in nft syntax (as it would be written in `delete element … { <key> }`). */
  key: string;
  comment: string;
}

export interface KernelView {
  exists: boolean;
  /** Chain name → its rules' comments ('' for a rule without one), in order. */
  chains: Map<string, string[]>;
  /** Maps and sets that exist, with their type ('set' | 'map'). */
  sets: Map<string, 'set' | 'map'>;
  elements: KernelElement[];
}

type Json = unknown;

function typeList(t: Json): string[] {
  if (Array.isArray(t)) return t.map(String);
  return [String(t)];
}

function valueText(v: Json, type: string | undefined): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return type === 'ifname' ? JSON.stringify(v) : v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, Json>;
    if ('prefix' in o) {
      const p = o.prefix as { addr: string; len: number };
      return `${p.addr}/${p.len}`;
    }
    if ('range' in o) {
      const [a, b] = o.range as [Json, Json];
      return `${valueText(a, type)}-${valueText(b, type)}`;
    }
  }
  throw new Error(`unexpected element value ${JSON.stringify(v)}`);
}

/** The key of an element in nft syntax, from its JSON `val` and the set's key type. */
export function keyText(val: Json, types: string[]): string {
  if (val && typeof val === 'object' && 'concat' in (val as Record<string, Json>)) {
    const parts = (val as { concat: Json[] }).concat;
    return parts.map((p, i) => valueText(p, types[i])).join(' . ');
  }
  return valueText(val, types[0]);
}

export function parseView(objs: NftObject[]): KernelView {
  const view: KernelView = { exists: false, chains: new Map(), sets: new Map(), elements: [] };
  for (const o of objs) {
    if (o.table) view.exists = true;
    const chain = o.chain;
    if (chain) view.chains.set(String(chain.name), view.chains.get(String(chain.name)) ?? []);
    const rule = o.rule;
    if (rule) {
      const name = String(rule.chain);
      const list = view.chains.get(name) ?? [];
      list.push(typeof rule.comment === 'string' ? rule.comment : '');
      view.chains.set(name, list);
    }
    const set = o.set ?? o.map;
    if (set) {
      const name = String(set.name);
      view.sets.set(name, o.map ? 'map' : 'set');
      const types = typeList(set.type);
      for (const raw of (set.elem as Json[] | undefined) ?? []) {
        // map: [key, value]; set: key. A key with a comment is {"elem": {"val": …, "comment": …}}.
        const k = o.map && Array.isArray(raw) ? raw[0] : raw;
        let val = k;
        let comment = '';
        if (k && typeof k === 'object' && 'elem' in (k as Record<string, Json>)) {
          const e = (k as { elem: { val: Json; comment?: string } }).elem;
          val = e.val;
          comment = e.comment ?? '';
        }
        view.elements.push({ set: name, key: keyText(val, types), comment });
      }
    }
  }
  return view;
}

/** The owner part of a tsnet comment (`tsnet:<net12>[:<ep12>]`), or undefined. */
export function commentOwner(comment: string): { net12: string; ep12?: string } | undefined {
  const m = /^tsnet:([A-Za-z0-9][A-Za-z0-9_.-]*)(?::([A-Za-z0-9][A-Za-z0-9_.-]*))?(?: |$)/.exec(comment);
  if (!m?.[1]) return undefined;
  return m[2] === undefined ? { net12: m[1] } : { net12: m[1], ep12: m[2] };
}
