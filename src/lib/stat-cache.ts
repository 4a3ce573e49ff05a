/**
 * A file's parsed content, read again only when the file changed (its inode, size or mtime, by
 * one stat): e.g. the host's resolv.conf, which every container create on a user network reads
 * for its resolver's upstreams (a stat instead of an open and two reads).
 */
import fs from 'node:fs';

export function statCached<T>(file: string, parse: (text: string) => T, missing: T): () => T {
  let seen: { key: string; value: T } | undefined;
  return () => {
    let key: string;
    try {
      const st = fs.statSync(file, { bigint: true });
      key = `${st.ino}:${st.size}:${st.mtimeNs}`;
    } catch {
      seen = undefined;
      return missing;
    }
    if (seen?.key === key) return seen.value;
    let value: T;
    try {
      value = parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return missing;
    }
    seen = { key, value };
    return value;
  };
}
