/**
 * The exit code an exec that could not start reports (exec inspect's ExitCode, which the docker
 * CLI exits with), as current dockerd gives it: moby's `setExitCodeFromError` reads the
 * runtime's error text — permission denied or a directory → 126, not a directory, no such file
 * or an executable not found → 127, anything else 128 — and a failure before the runtime runs
 * (dockerd looks up `--user` itself) keeps exec's default, 126. Pure.
 */
export function execStartExitCode(message: string, code?: number): number {
  const m = message.toLowerCase();
  if (/^unable to find (user|group) /.test(m)) return 126;
  if (m.includes('permission denied') || m.includes('is a directory')) return 126;
  if (m.includes('not a directory') || m.includes('no such file or directory') || m.includes('executable file not found'))
    return 127;
  if (code === 126 || code === 127) return code;
  return 128;
}
