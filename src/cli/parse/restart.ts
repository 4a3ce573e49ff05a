/** `--restart no|always|unless-stopped|on-failure[:max-retries]` → HostConfig.RestartPolicy. */
export function parseRestart(text: string): { Name: string; MaximumRetryCount: number } {
  const [name = '', max, extra] = text.split(':');
  if (extra !== undefined || !['no', 'always', 'unless-stopped', 'on-failure'].includes(name))
    throw new Error('use no, always, unless-stopped or on-failure[:max-retries]');
  if (max === undefined) return { Name: name, MaximumRetryCount: 0 };
  if (name !== 'on-failure') throw new Error(`maximum retry count can only be used with on-failure`);
  if (!/^\d+$/.test(max)) throw new Error(`maximum retry count must be a non-negative integer`);
  return { Name: name, MaximumRetryCount: Number(max) };
}
