/** Request schemas of the /containers and /exec routes (Docker Engine API shapes). */
import { Type } from '@sinclair/typebox';
import {
  Ip,
  IpOrEmpty,
  List,
  MAX_NAME,
  NoNul,
  Opt,
  Query,
  QBool,
  QFilters,
  QInt,
  QUint,
  StringMap,
  Text,
  Token,
} from './common.js';

const Int = Type.Integer();
const Bool = Type.Boolean();

/** What the kernel takes as a host or domain name (sethostname: 64 bytes), and /etc/hosts can hold. */
const HostName = Type.String({
  maxLength: 64,
  pattern: '^([A-Za-z0-9]([A-Za-z0-9_.-]*))?$',
  hint: 'a host name (letters, digits, "-", "_", ".", at most 64 characters)',
});

const Mac = Type.String({
  pattern: '^(([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2})?$',
  hint: 'a MAC address (aa:bb:cc:dd:ee:ff)',
});

const Command = Opt(Type.Union([NoNul(), Type.Array(NoNul(), { maxItems: 4096 })]));

const EnvVar = Type.String({
  maxLength: 64 * 1024,
  pattern: '^[^=\\x00][^\\x00]*$',
  hint: 'NAME=value without NUL characters',
});

const PortKey = '^[0-9]{1,5}(-[0-9]{1,5})?(/(tcp|udp|sctp))?$';
const portKeyHint = 'a port like 80/tcp, 53/udp or 8000-8010/tcp';

const PortBinding = Type.Object({
  HostIp: Opt(IpOrEmpty),
  HostPort: Opt(Type.String({ pattern: '^([0-9]{1,5}(-[0-9]{1,5})?)?$', hint: 'a port number or range' })),
});

/** `HOST:IP` (IP may be `host-gateway`), as `--add-host`. */
export const ExtraHost = Type.String({ maxLength: 512, format: 'extra-host', hint: 'HOST:IP (or HOST:host-gateway)' });

export const EndpointSettings = Type.Object({
  IPAMConfig: Opt(
    Type.Object({
      IPv4Address: Opt(IpOrEmpty),
      IPv6Address: Opt(IpOrEmpty),
      LinkLocalIPs: List(Ip, 64),
    }),
  ),
  Links: List(Token('NAME:ALIAS without spaces or control characters'), 1024),
  Aliases: List(Token('a DNS name without spaces or control characters'), 1024),
  MacAddress: Opt(Mac),
  DriverOpts: StringMap(),
  NetworkID: Opt(Text({ maxLength: 512 })),
  EndpointID: Opt(Text({ maxLength: 512 })),
  Gateway: Opt(Text({ maxLength: 64 })),
  IPAddress: Opt(Text({ maxLength: 64 })),
  IPPrefixLen: Opt(Int),
  IPv6Gateway: Opt(Text({ maxLength: 64 })),
  GlobalIPv6Address: Opt(Text({ maxLength: 64 })),
  GlobalIPv6PrefixLen: Opt(Int),
  GwPriority: Opt(Int),
  DNSNames: List(Text({ maxLength: MAX_NAME }), 1024),
});

const NetworkKey = `^[^\\x00-\\x1f\\x7f]{1,512}$`;

export const NetworkingConfig = Type.Object({
  EndpointsConfig: Opt(
    Type.Record(Type.String({ pattern: NetworkKey }), Opt(EndpointSettings), {
      additionalProperties: false,
      maxProperties: 256,
      keyHint: 'network names or ids without control characters',
    }),
  ),
});

export const HostConfig = Type.Object({
  Binds: List(Text({ maxLength: 4096 })),
  NetworkMode: Opt(Text({ maxLength: 512 })),
  PortBindings: Opt(
    Type.Record(Type.String({ pattern: PortKey }), Opt(Type.Array(PortBinding, { maxItems: 64 })), {
      additionalProperties: false,
      keyHint: portKeyHint,
    }),
  ),
  PublishAllPorts: Opt(Bool),
  AutoRemove: Opt(Bool),
  RestartPolicy: Opt(
    Type.Object({
      Name: Opt(
        Type.String({
          pattern: '^(|no|always|unless-stopped|on-failure)$',
          hint: 'one of no, always, unless-stopped, on-failure',
        }),
      ),
      MaximumRetryCount: Opt(Int),
    }),
  ),
  Memory: Opt(Int),
  MemorySwap: Opt(Int),
  MemoryReservation: Opt(Int),
  MemorySwappiness: Opt(Type.Integer({ minimum: -1, maximum: 100 })),
  NanoCpus: Opt(Int),
  CpuShares: Opt(Int),
  CpuQuota: Opt(Int),
  CpuPeriod: Opt(Int),
  CpusetCpus: Opt(Text({ maxLength: 256 })),
  CpusetMems: Opt(Text({ maxLength: 256 })),
  PidsLimit: Opt(Int),
  ShmSize: Opt(Int),
  OomKillDisable: Opt(Bool),
  OomScoreAdj: Opt(Type.Integer({ minimum: -1000, maximum: 1000 })),
  Privileged: Opt(Bool),
  ReadonlyRootfs: Opt(Bool),
  Init: Opt(Bool),
  CapAdd: List(Type.String({ pattern: '^[A-Za-z_]{1,64}$', hint: 'a capability name (NET_ADMIN, ALL, …)' }), 128),
  CapDrop: List(Type.String({ pattern: '^[A-Za-z_]{1,64}$', hint: 'a capability name (NET_RAW, ALL, …)' }), 128),
  // seccomp=<profile JSON> carries a whole profile (Docker's default is ~12 KB; a pretty-printed
  // one has newlines): parsed and checked by src/runtime/container/security-opts.ts
  SecurityOpt: List(NoNul({ maxLength: 1 << 20, hint: 'seccomp=unconfined|<profile JSON>, no-new-privileges (≤ 1 MiB)' }), 64),
  Devices: List(
    Type.Object({
      PathOnHost: Opt(Text({ maxLength: 4096 })),
      PathInContainer: Opt(Text({ maxLength: 4096 })),
      CgroupPermissions: Opt(Type.String({ pattern: '^[rwm]{0,3}$', hint: 'a combination of r, w and m' })),
    }),
    256,
  ),
  DeviceCgroupRules: List(Text({ maxLength: 256 }), 256),
  Dns: List(Ip, 64),
  DnsSearch: List(Token('a DNS search domain without spaces or control characters'), 64),
  DnsOptions: List(Token('a resolver option without spaces or control characters', 256), 64),
  ExtraHosts: List(ExtraHost, 1024),
  Links: List(Token('NAME:ALIAS without spaces or control characters'), 1024),
  CgroupParent: Opt(Text({ maxLength: 4096 })),
  Sysctls: StringMap(),
  Tmpfs: StringMap(),
  LogConfig: Opt(Type.Object({ Type: Opt(Text({ maxLength: 256 })), Config: StringMap() })),
  Ulimits: List(Type.Object({ Name: Opt(Text({ maxLength: 64 })), Soft: Opt(Int), Hard: Opt(Int) }), 64),
  IpcMode: Opt(Text({ maxLength: 512 })),
  PidMode: Opt(Text({ maxLength: 512 })),
  UTSMode: Opt(Text({ maxLength: 512 })),
  UsernsMode: Opt(Text({ maxLength: 512 })),
  CgroupnsMode: Opt(Text({ maxLength: 64 })),
  VolumesFrom: List(Text({ maxLength: 512 }), 256),
  GroupAdd: List(Text({ maxLength: 256 }), 256),
  Runtime: Opt(Text({ maxLength: 256 })),
  Mounts: List(
    Type.Object({
      Type: Opt(Type.String({ pattern: '^(bind|volume|tmpfs|npipe|cluster|image)$', hint: 'bind, volume or tmpfs' })),
      Source: Opt(Text({ maxLength: 4096 })),
      Target: Opt(Text({ maxLength: 4096 })),
      ReadOnly: Opt(Bool),
      Consistency: Opt(Text({ maxLength: 64 })),
      BindOptions: Opt(
        Type.Object({
          Propagation: Opt(Text({ maxLength: 64 })),
          NonRecursive: Opt(Bool),
          CreateMountpoint: Opt(Bool),
        }),
      ),
      VolumeOptions: Opt(
        Type.Object({
          NoCopy: Opt(Bool),
          Subpath: Opt(Text({ maxLength: 4096 })),
          Labels: StringMap(),
          DriverConfig: Opt(Type.Object({ Name: Opt(Text({ maxLength: 255 })), Options: StringMap() })),
        }),
      ),
      TmpfsOptions: Opt(Type.Object({ SizeBytes: Opt(Int), Mode: Opt(Int) })),
    }),
    256,
  ),
});

export const ContainerCreateBody = Type.Object({
  Hostname: Opt(HostName),
  Domainname: Opt(HostName),
  User: Opt(Text({ maxLength: 256 })),
  AttachStdin: Opt(Bool),
  AttachStdout: Opt(Bool),
  AttachStderr: Opt(Bool),
  ExposedPorts: Opt(
    Type.Record(Type.String({ pattern: PortKey }), Type.Object({}), { additionalProperties: false, keyHint: portKeyHint }),
  ),
  Tty: Opt(Bool),
  OpenStdin: Opt(Bool),
  StdinOnce: Opt(Bool),
  Env: List(EnvVar),
  Cmd: Command,
  Entrypoint: Command,
  Image: Opt(Text({ maxLength: 1024 })),
  WorkingDir: Opt(Text({ maxLength: 4096 })),
  Labels: StringMap(),
  MacAddress: Opt(Mac),
  StopSignal: Opt(Text({ maxLength: 32 })),
  StopTimeout: Opt(Type.Integer({ minimum: -1 })),
  NetworkDisabled: Opt(Bool),
  Shell: List(NoNul(), 64),
  Volumes: Opt(
    Type.Record(Type.String({ pattern: '^[^\\x00-\\x1f\\x7f]{1,4096}$' }), Type.Object({}), { additionalProperties: false }),
  ),
  Healthcheck: Opt(
    Type.Object({
      Test: List(NoNul(), 1024),
      Interval: Opt(Int),
      Timeout: Opt(Int),
      Retries: Opt(Int),
      StartPeriod: Opt(Int),
      StartInterval: Opt(Int),
    }),
  ),
  HostConfig: Opt(HostConfig),
  NetworkingConfig: Opt(NetworkingConfig),
});

/** A container name as Docker takes it: `^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$` (checked again when the record is built). */
export const ContainerName = Type.String({
  maxLength: MAX_NAME,
  pattern: '^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$',
  hint: 'a container name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 characters',
});

export const ContainerListQuery = Query({ all: QBool, limit: QInt, size: QBool, filters: QFilters });
export const InspectQuery = Query({ size: QBool });
export const ContainerCreateQuery = Query({ name: ContainerName, platform: Text({ maxLength: 256 }) });
export const StopQuery = Query({ t: QInt, signal: Text({ maxLength: 32 }) });
export const KillQuery = Query({ signal: Text({ maxLength: 32 }) });
/** `ps` arguments for /top (Docker's default -ef); run without a shell. */
export const TopQuery = Query({ ps_args: Text({ maxLength: 256 }) });
export const RenameQuery = Query({ name: ContainerName });
export const RemoveQuery = Query({ force: QBool, v: QBool, link: QBool });
export const WaitQuery = Query({
  condition: Type.String({
    pattern: '^(|not-running|next-exit|removed)$',
    hint: 'one of not-running, next-exit, removed',
  }),
});
export const AttachQuery = Query({
  logs: QBool,
  stream: QBool,
  stdin: QBool,
  stdout: QBool,
  stderr: QBool,
  detachKeys: Text({ maxLength: 64 }),
});
export const ResizeQuery = Query({ h: QUint, w: QUint });
const Timestamp = Type.String({ pattern: '^-?[0-9]{1,15}(\\.[0-9]{1,9})?$', hint: 'a UNIX timestamp' });
export const LogsQuery = Query({
  follow: QBool,
  stdout: QBool,
  stderr: QBool,
  since: Timestamp,
  until: Timestamp,
  timestamps: QBool,
  details: QBool,
  tail: Type.String({ pattern: '^(all|[0-9]{0,15})$', hint: '"all" or a number of lines' }),
});

export const ExecCreateBody = Type.Object({
  AttachStdin: Opt(Bool),
  AttachStdout: Opt(Bool),
  AttachStderr: Opt(Bool),
  DetachKeys: Opt(Text({ maxLength: 64 })),
  Tty: Opt(Bool),
  ConsoleSize: List(Int, 2),
  Env: List(EnvVar),
  Cmd: Command,
  Privileged: Opt(Bool),
  User: Opt(Text({ maxLength: 256 })),
  WorkingDir: Opt(Text({ maxLength: 4096 })),
});

export const ExecStartBody = Type.Object({
  Detach: Opt(Bool),
  Tty: Opt(Bool),
  ConsoleSize: List(Int, 2),
});
