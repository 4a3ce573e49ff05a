import crypto from 'node:crypto';

/** A 64-hex-character id, like Docker's. */
export function newId(): string {
  return crypto.randomBytes(32).toString('hex');
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

const ADJECTIVES = [
  'agile',
  'bold',
  'brave',
  'calm',
  'clever',
  'eager',
  'fast',
  'fond',
  'gentle',
  'happy',
  'keen',
  'kind',
  'lucid',
  'merry',
  'nimble',
  'proud',
  'quick',
  'quiet',
  'sharp',
  'steady',
  'swift',
  'tender',
  'vivid',
  'wise',
];
const NAMES = [
  'baran',
  'cerf',
  'clark',
  'davies',
  'floyd',
  'hopper',
  'kahn',
  'lamport',
  'liskov',
  'metcalfe',
  'mockapetris',
  'perlman',
  'postel',
  'ritchie',
  'shannon',
  'thompson',
  'torvalds',
  'turing',
  'zimmermann',
  'kleinrock',
];

/** Docker-style random names (`swift_perlman`); `taken` decides collisions. */
export function randomName(taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    const a = ADJECTIVES[crypto.randomInt(ADJECTIVES.length)]!;
    const n = NAMES[crypto.randomInt(NAMES.length)]!;
    const name = i < 10 ? `${a}_${n}` : `${a}_${n}${crypto.randomInt(100)}`;
    if (!taken(name)) return name;
  }
}

export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
