/** Request schemas of the /swarm routes (single-node swarm mode). */
import { Type } from '@sinclair/typebox';
import { Cidr, List, Opt, QBool, QUint, Query, StringMap, Text } from './common.js';

const Bool = Type.Boolean();
const Addr = Text({ maxLength: 300, hint: 'IP[:PORT] or INTERFACE[:PORT]' });

/** Docker's swarm spec: the fields tsnet reads are checked, the rest is kept as given. */
export const SwarmSpecBody = Type.Object({
  Name: Opt(Text({ maxLength: 255 })),
  Labels: StringMap(),
  EncryptionConfig: Opt(Type.Object({ AutoLockManagers: Opt(Bool) })),
});

export const SwarmInitBody = Type.Object({
  ListenAddr: Opt(Addr),
  AdvertiseAddr: Opt(Addr),
  DataPathAddr: Opt(Addr),
  DataPathPort: Opt(Type.Integer({ minimum: 0, maximum: 65535, hint: 'a port number' })),
  DefaultAddrPool: List(Cidr, 64),
  SubnetSize: Opt(Type.Integer({ minimum: 0, maximum: 32, hint: 'a prefix length' })),
  ForceNewCluster: Opt(Bool),
  Availability: Opt(Text({ maxLength: 16 })),
  Spec: Opt(SwarmSpecBody),
});

export const SwarmLeaveQuery = Query({ force: QBool });

export const SwarmUpdateQuery = Query({
  version: QUint,
  rotateWorkerToken: QBool,
  rotateManagerToken: QBool,
  rotateManagerUnlockKey: QBool,
});
