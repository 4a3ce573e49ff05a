/** The few kernel operations the p2p plugin needs, through iproute2 (`ip`) and /proc/sys. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';

export interface IpTool {
  /** Run `ip <args>`; rejects with stderr's first line. */
  run(args: string[]): Promise<string>;
  /** Does a link of this name exist (in the plugin's network namespace)? */
  linkExists(name: string): Promise<boolean>;
  /** Delete a link; a missing one is fine. */
  deleteLink(name: string): Promise<void>;
  /** Write a sysctl under /proc/sys (e.g. net/ipv4/ip_forward). */
  sysctl(key: string, value: string): void;
}

export function createIpTool(ipPath = 'ip'): IpTool {
  const run = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(
        ipPath,
        args,
        { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } },
        (err, stdout, stderr) => {
          if (err) {
            const line = String(stderr).trim().split('\n')[0] || err.message;
            reject(new Error(`ip ${args.join(' ')}: ${line}`));
          } else resolve(String(stdout));
        },
      );
    });
  return {
    run,
    async linkExists(name) {
      try {
        await run(['link', 'show', 'dev', name]);
        return true;
      } catch {
        return false;
      }
    },
    async deleteLink(name) {
      try {
        await run(['link', 'del', 'dev', name]);
      } catch (err) {
        if (!/Cannot find device|does not exist/.test((err as Error).message)) throw err;
      }
    },
    sysctl(key, value) {
      fs.writeFileSync(`/proc/sys/${key}`, value);
    },
  };
}
