/**
 * Failpoints (test-only): `TSNET_FAILPOINTS=attach.after-veth=crash,start.after-launch=crash`
 * makes the daemon kill itself with SIGKILL when it reaches that step boundary — the same as a
 * `kill -9` at exactly that moment. Built once from the environment at start; when the variable
 * is unset `hit` is a function that does nothing.
 *
 * Names (`<operation>.<boundary>`) are listed in FAILPOINTS so tests can walk all of them.
 */
export const FAILPOINTS = [
  'network-create.after-pools',
  'network-create.after-driver',
  'network-rm.after-mark',
  'network-rm.after-driver',
  'attach.after-address',
  'attach.after-join',
  'container-create.after-network',
  'start.after-ports',
  'start.after-launch',
  'container-rm.after-mark',
  'container-rm.before-teardown',
  'container-rm.after-network',
  'connect.after-attach',
  'disconnect.after-record',
  'publish.after-reserve',
  'trash.after-rename',
] as const;

export type FailpointName = (typeof FAILPOINTS)[number];

export type Failpoint = (name: FailpointName) => void;

const NONE: Failpoint = () => undefined;

/** Parse `name=crash[,name=crash…]`; unknown names or actions are refused at start (typos). */
export function failpointsFrom(spec: string | undefined, onHit: (name: string) => void = crash): Failpoint {
  if (!spec) return NONE;
  const armed = new Set<string>();
  for (const part of spec.split(',').filter(Boolean)) {
    const [name, action] = part.split('=');
    if (!FAILPOINTS.includes(name as FailpointName) || action !== 'crash') {
      throw new Error(`TSNET_FAILPOINTS: unknown failpoint "${part}" (use NAME=crash; names: ${FAILPOINTS.join(', ')})`);
    }
    armed.add(name!);
  }
  return (name) => {
    if (armed.has(name)) onHit(name);
  };
}

function crash(name: string): void {
  process.stderr.write(`failpoint ${name}: crash\n`);
  process.kill(process.pid, 'SIGKILL');
}
