/**
 * Every error tsnet can report, registered once with a stable code and a category.
 * The category decides the HTTP status in the API and the exit code in the CLI.
 * Add new codes here; never reuse or rename one.
 */
export type ErrorCategory =
  | 'invalid' // bad input from the user: 400
  | 'not-found' // 404
  | 'conflict' // name/subnet/port already taken, wrong state: 409
  | 'unavailable' // a dependency (plugin, etcd, daemon) cannot be reached: 503
  | 'forbidden' // operation not allowed in this state/mode: 403
  | 'method' // the path exists, the HTTP method does not: 405
  | 'unsupported' // a Docker feature tsnet does not provide (swarm services): 501
  | 'internal'; // a bug or an unexpected kernel failure: 500

export const ERROR_CODES = {
  // generic
  TSNET_INVALID_ARGUMENT: 'invalid',
  TSNET_INTERNAL: 'internal',
  TSNET_NOT_IMPLEMENTED: 'invalid',
  TSNET_DAEMON_UNREACHABLE: 'unavailable',
  // the API itself
  TSNET_PAGE_NOT_FOUND: 'not-found',
  TSNET_METHOD_NOT_ALLOWED: 'method',
  TSNET_NOT_SWARM_MANAGER: 'unavailable',
  // swarm mode (single node)
  TSNET_SWARM_EXISTS: 'unavailable',
  TSNET_SWARM_MANAGER_LEAVE: 'unavailable',
  TSNET_SWARM_UNSUPPORTED: 'unsupported',
  TSNET_SWARM_OBJECT_NOT_FOUND: 'not-found',
  TSNET_SWARM_OUT_OF_SEQUENCE: 'invalid',
  TSNET_SWARM_NOT_LOCKED: 'conflict',
  TSNET_NETWORK_SCOPE: 'forbidden',
  // kernel layer
  TSNET_KERNEL: 'internal',
  TSNET_NETLINK: 'internal',
  TSNET_NETNS: 'internal',
  TSNET_SYSCALL: 'internal',
  TSNET_FIREWALL: 'internal',
  TSNET_SYSCTL: 'internal',
  // images
  TSNET_IMAGE_NOT_FOUND: 'not-found',
  TSNET_IMAGE_INVALID: 'invalid',
  TSNET_IMAGE_IN_USE: 'conflict',
  TSNET_IMAGE_AMBIGUOUS: 'invalid',
  // registries (pull, login)
  TSNET_REGISTRY_UNAUTHORIZED: 'forbidden',
  TSNET_REGISTRY_UNAVAILABLE: 'unavailable',
  TSNET_REGISTRY_ERROR: 'unavailable',
  // containers
  TSNET_CONTAINER_NOT_FOUND: 'not-found',
  TSNET_CONTAINER_NAME_IN_USE: 'conflict',
  TSNET_CONTAINER_RUNNING: 'conflict',
  TSNET_CONTAINER_NOT_RUNNING: 'conflict',
  TSNET_CONTAINER_PAUSED: 'conflict',
  TSNET_CONTAINER_NOT_PAUSED: 'conflict',
  TSNET_CONTAINER_AMBIGUOUS: 'invalid',
  TSNET_COMMAND_NOT_FOUND: 'invalid',
  TSNET_COMMAND_NOT_EXECUTABLE: 'invalid',
  TSNET_START_FAILED: 'internal',
  TSNET_BAD_MEMORY: 'invalid',
  TSNET_BAD_CPUS: 'invalid',
  TSNET_BAD_VOLUME: 'invalid',
  TSNET_BAD_USER: 'invalid',
  TSNET_BAD_DEVICE: 'invalid',
  TSNET_BAD_SECURITY_OPT: 'invalid',
  TSNET_BAD_SECCOMP_PROFILE: 'invalid',
  TSNET_EXEC_NOT_FOUND: 'not-found',
  TSNET_PATH_NOT_FOUND: 'not-found',
  TSNET_CONTAINER_READ_ONLY: 'forbidden',
  // volumes
  TSNET_VOLUME_NOT_FOUND: 'not-found',
  TSNET_VOLUME_IN_USE: 'conflict',
  // networks
  TSNET_NETWORK_NOT_FOUND: 'not-found',
  TSNET_NETWORK_EXISTS: 'conflict',
  TSNET_NETWORK_IN_USE: 'conflict',
  TSNET_NETWORK_AMBIGUOUS: 'invalid',
  TSNET_NETWORK_MODE: 'invalid',
  TSNET_ENDPOINT_EXISTS: 'conflict',
  TSNET_ENDPOINT_NOT_FOUND: 'not-found',
  TSNET_DRIVER_NOT_FOUND: 'not-found',
  TSNET_BAD_CIDR: 'invalid',
  TSNET_BAD_GATEWAY: 'invalid',
  TSNET_BAD_IP: 'invalid',
  TSNET_SUBNET_OVERLAP: 'conflict',
  TSNET_POOL_EXHAUSTED: 'unavailable',
  TSNET_ADDRESS_IN_USE: 'conflict',
  TSNET_BAD_PORT_SPEC: 'invalid',
  TSNET_PORT_IN_USE: 'conflict',
  TSNET_DNS: 'internal',
  // plugins
  TSNET_PLUGIN_NOT_FOUND: 'not-found',
  TSNET_PLUGIN_UNAVAILABLE: 'unavailable',
  TSNET_PLUGIN_TIMEOUT: 'unavailable',
  TSNET_PLUGIN_ERROR: 'internal',
  TSNET_PLUGIN_BAD_REPLY: 'internal',
  // cluster
  TSNET_CLUSTER_STORE_REQUIRED: 'invalid',
  TSNET_CLUSTER_UNAVAILABLE: 'unavailable',
  TSNET_VNI_IN_USE: 'conflict',
  TSNET_NETWORK_NOT_ATTACHABLE: 'forbidden',
} as const satisfies Record<string, ErrorCategory>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const HTTP_STATUS: Record<ErrorCategory, number> = {
  invalid: 400,
  forbidden: 403,
  method: 405,
  'not-found': 404,
  conflict: 409,
  internal: 500,
  unsupported: 501,
  unavailable: 503,
};
