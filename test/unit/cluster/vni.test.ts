import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { VNI_DYNAMIC_MIN, VNI_MAX, VXLANID_OPTION, checkVni, pickVni, requestedVni } from '../../../src/store/cluster/vni.js';

test('the VNI option: one id from 1 to 2^24-1', (t) => {
  t.is(requestedVni({}), undefined);
  t.is(requestedVni({ [VXLANID_OPTION]: '' }), undefined);
  t.is(requestedVni({ [VXLANID_OPTION]: ' 4242 ' }), 4242);
  t.is(requestedVni({ [VXLANID_OPTION]: '1' }), 1);
  for (const bad of ['0', '16777216', 'abc', '-1', '1.5', '4242,4243']) {
    t.true(
      isTsnetError(
        t.throws(() => requestedVni({ [VXLANID_OPTION]: bad })),
        'TSNET_INVALID_ARGUMENT',
      ),
      bad,
    );
  }
  t.is(checkVni(VNI_MAX), VNI_MAX);
});

test('pickVni: the lowest free from 4096 up', (t) => {
  t.is(pickVni(new Set()), VNI_DYNAMIC_MIN);
  t.is(pickVni(new Set([4096, 4097, 4099])), 4098);
  t.is(pickVni(new Set([1, 2, 3])), 4096, 'requested low VNIs do not matter');
  t.is(pickVni(new Set(), 10), 4096);
});
