/**
 * tsnet login [SERVER] -u USER (-p PASS | --password-stdin): the daemon checks the
 * credentials against the registry (POST /auth, as docker login does); on success they are
 * stored in ~/.tsnet/config.json (or $TSNET_CONFIG/config.json) for pulls.
 */
import { createInterface } from 'node:readline/promises';
import type { Context } from '../context.js';
import { saveCredentials, serverKey } from '../credentials.js';
import { UsageError } from '../errors.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

async function prompt(ctx: Context, question: string, hidden: boolean): Promise<string> {
  if (!ctx.stdin.isTTY)
    throw new UsageError(`cannot ask for the ${question.toLowerCase()}: stdin is not a terminal (use -u and --password-stdin)`);
  const rl = createInterface({ input: ctx.stdin, output: ctx.stdout, terminal: true });
  if (hidden) {
    // Echo nothing while the password is typed.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(`${question}: `)) ctx.stdout.write(s);
    };
  }
  try {
    const answer = await rl.question(`${question}: `);
    if (hidden) ctx.stdout.write('\n');
    return answer;
  } finally {
    rl.close();
  }
}

export default async function login(
  ctx: Context,
  [server]: [string | undefined],
  opts: { username?: string; password?: string; passwordStdin?: boolean },
): Promise<number> {
  if (opts.password !== undefined && opts.passwordStdin)
    throw new UsageError('--password and --password-stdin are mutually exclusive');
  if (opts.passwordStdin && opts.username === undefined) throw new UsageError('--password-stdin needs --username');
  const address = server ?? 'docker.io';
  const username = opts.username ?? (await prompt(ctx, 'Username', false)).trim();
  if (username === '') throw new UsageError('a username is needed');
  let password = opts.password;
  if (opts.passwordStdin) password = (await readAll(ctx.stdin)).replace(/\r?\n$/, '');
  if (password === undefined) password = await prompt(ctx, 'Password', true);
  if (password === '') throw new UsageError('a password is needed');
  if (opts.password !== undefined) ctx.error('using --password on the command line is insecure: use --password-stdin');
  await ctx.client.json('POST', '/auth', { body: { username, password, serveraddress: serverKey(address) } });
  saveCredentials(ctx.env, address, username, password);
  ctx.print('Login Succeeded');
  return 0;
}
