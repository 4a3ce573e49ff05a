/**
 * tsnet's mark on the kernel objects it makes (DESIGN rule 2): a link's alias is
 * `tsnet:<network id>` (bridges) or `tsnet:<endpoint id>` (veths). Names alone collide (Docker
 * names its bridges `br-<id12>` too), so the start-up sweep removes only links with this mark
 * whose id no record explains.
 */
const MARK_RE = /^tsnet:([0-9a-f]{64})$/;

export function linkMark(id: string): string {
  return `tsnet:${id}`;
}

/** The id in a tsnet mark, or undefined for anything else (a foreign or unmarked link). */
export function markedId(alias: string | undefined): string | undefined {
  return alias ? MARK_RE.exec(alias)?.[1] : undefined;
}
