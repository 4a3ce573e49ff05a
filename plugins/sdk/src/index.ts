/**
 * @tsnet/plugin-sdk — write network and IPAM plugins for tsnet and Docker.
 *
 *   import { serveNetworkPlugin } from '@tsnet/plugin-sdk';
 *   const server = await serveNetworkPlugin({ name: 'mynet', handlers: { createNetwork, … } });
 *
 * The plugin then answers on /run/tsnet/plugins/mynet.sock (pass socketDir: '/run/docker/plugins'
 * for Docker) and `tsnet network create -d mynet x` / `docker network create -d mynet x` use it.
 */
export * from './types.js';
export { createPluginHandler, PluginError, BadRequestError, CONTENT_TYPE, type HandlerOptions } from './handler.js';
export {
  servePlugin,
  serveNetworkPlugin,
  serveIpamPlugin,
  closeOnSignals,
  TSNET_SOCKET_DIR,
  TSNET_SPEC_DIR,
  DOCKER_SOCKET_DIR,
  DOCKER_SPEC_DIR,
  type ServeOptions,
  type TlsOptions,
  type PluginServer,
} from './serve.js';
export { genericOptions, portMap, exposedPorts, protoName, ifaceName } from './util.js';
