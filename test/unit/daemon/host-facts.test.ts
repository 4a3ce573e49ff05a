/** /info's host facts (src/daemon/routes/host-facts.ts): the distribution's name from os-release. */
import test from 'ava';
import { osRelease } from '../../../src/daemon/routes/host-facts.js';

test('osRelease: PRETTY_NAME and VERSION_ID, quoted or not; Linux without them', (t) => {
  t.deepEqual(osRelease('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\n'), {
    name: 'Debian GNU/Linux 12 (bookworm)',
    version: '12',
  });
  t.deepEqual(osRelease("PRETTY_NAME='Alpine Linux v3.20'\nVERSION_ID=3.20.1\n"), {
    name: 'Alpine Linux v3.20',
    version: '3.20.1',
  });
  t.deepEqual(osRelease(''), { name: 'Linux', version: '' });
});
