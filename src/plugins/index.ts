/** Public entry of the plugin subsystem: discovery, the client, the registry. */
export { PluginRegistry, type PluginRegistryOptions, type PluginListEntry } from './registry.js';
export {
  PluginClient,
  isNotImplemented,
  pluginMessage,
  decodeReply,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_RETRY_BUDGET_MS,
  type PluginClientOptions,
  type CallOptions,
  type RawCall,
  type ActivationHook,
} from './client.js';
export {
  locatePlugin,
  scanPlugins,
  candidatePaths,
  describeSearch,
  validatePluginName,
  type DiscoveryDirs,
  type Candidate,
} from './discovery.js';
export { parsePluginUrl, parseSpecFile, parseJsonSpec, socketAddress } from './spec-files.js';
export { ACCEPT_HEADER } from './http.js';
export { field, str, bool, num, obj, arr, strMap, isObject, WireTypeError, type JsonObject } from './wire.js';
export {
  DEFAULT_SOCKET_DIRS,
  DEFAULT_SPEC_DIRS,
  DOCKER_SOCKET_DIRS,
  DOCKER_SPEC_DIRS,
  type PluginAddress,
  type PluginKind,
  type PluginManifest,
  type PluginTlsConfig,
} from './types.js';
