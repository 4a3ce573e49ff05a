/** Request schemas of the /networks routes. */
import { Type } from '@sinclair/typebox';
import { EndpointSettings } from './containers.js';
import { Cidr, Ip, IpOrEmpty, List, MAX_NAME, Opt, Query, QFilters, Ref, StringMap, Text } from './common.js';

const Bool = Type.Boolean();

/**
 * A network name as Docker takes it: anything that is not blank (`test 01` is fine), here
 * also without control characters and at most 255 characters.
 */
export const NetworkName = Type.String({
  minLength: 1,
  maxLength: MAX_NAME,
  pattern: '^(?=.*[^\\s])[^\\x00-\\x1f\\x7f]*$',
  hint: 'a network name: not blank, no control characters, at most 255 characters',
});

const CidrOrEmpty = Type.Union([Type.Literal(''), Cidr]);

export const NetworkCreateBody = Type.Object({
  Name: NetworkName,
  CheckDuplicate: Opt(Bool),
  Driver: Opt(Text({ maxLength: 255 })),
  Scope: Opt(Type.String({ pattern: '^(|local|global|swarm)$', hint: 'local, global or swarm' })),
  Internal: Opt(Bool),
  Attachable: Opt(Bool),
  Ingress: Opt(Bool),
  EnableIPv4: Opt(Bool),
  EnableIPv6: Opt(Bool),
  ConfigOnly: Opt(Bool),
  ConfigFrom: Opt(Type.Object({ Network: Opt(Text({ maxLength: MAX_NAME })) })),
  IPAM: Opt(
    Type.Object({
      Driver: Opt(Text({ maxLength: 255 })),
      Config: List(
        Type.Object({
          Subnet: Opt(CidrOrEmpty),
          IPRange: Opt(CidrOrEmpty),
          Gateway: Opt(IpOrEmpty),
          AuxiliaryAddresses: Opt(
            Type.Record(Type.String({ pattern: '^[^\\x00-\\x1f\\x7f]{1,255}$' }), Ip, {
              additionalProperties: false,
              maxProperties: 1024,
              keyHint: 'names without control characters',
            }),
          ),
        }),
        64,
      ),
      Options: StringMap(),
    }),
  ),
  Options: StringMap(),
  Labels: StringMap(),
});

export const NetworkConnectBody = Type.Object({
  Container: Ref,
  EndpointConfig: Opt(EndpointSettings),
});

export const NetworkDisconnectBody = Type.Object({
  Container: Ref,
  Force: Opt(Bool),
});

export const NetworkListQuery = Query({ filters: QFilters });
export const NetworkInspectQuery = Query({ verbose: Text({ maxLength: 16 }), scope: Text({ maxLength: 16 }) });
export const NetworkPruneQuery = Query({ filters: QFilters });
