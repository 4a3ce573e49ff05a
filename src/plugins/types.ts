/**
 * Shared types of the plugin subsystem: where a plugin lives (its address), what it says it
 * implements (its manifest).
 */

/** The subsystems tsnet uses; a plugin may implement others (VolumeDriver, authz, …). */
export type PluginKind = 'NetworkDriver' | 'IpamDriver';

/** TLS settings of a `.json` spec file (go-connections tlsconfig.Options). */
export interface PluginTlsConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  insecureSkipVerify: boolean;
}

/** Where a plugin answers, as found by discovery (or given directly). */
export interface PluginAddress {
  /** The plugin's name: always the file name without its extension (a .json `Name` is ignored, as in Docker). */
  name: string;
  /** The URL: unix:///run/tsnet/plugins/x.sock, tcp://127.0.0.1:8080, https://host:port. */
  url: string;
  protocol: 'unix' | 'tcp' | 'https';
  /** unix: the socket path. */
  socketPath?: string;
  /** tcp/https: host and port. */
  host?: string;
  port?: number;
  tls?: PluginTlsConfig;
  /** The file that described the plugin (.sock, .spec, .json); absent when given directly. */
  source?: string;
}

/** The reply to POST /Plugin.Activate. */
export interface PluginManifest {
  Implements: string[];
}

/** tsnet's own directories (DESIGN "Plugins"). */
export const DEFAULT_SOCKET_DIRS: readonly string[] = ['/run/tsnet/plugins'];
export const DEFAULT_SPEC_DIRS: readonly string[] = ['/etc/tsnet/plugins', '/usr/lib/tsnet/plugins'];
/** Docker's directories, for `tsnetd --plugin-dir /run/docker/plugins --plugin-spec-dir …`. */
export const DOCKER_SOCKET_DIRS: readonly string[] = ['/run/docker/plugins'];
export const DOCKER_SPEC_DIRS: readonly string[] = ['/etc/docker/plugins', '/usr/lib/docker/plugins'];
