/** Sizes as docker prints them (go-units). */
const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function custom(size: number, base: number, units: string[], precision: number): string {
  let i = 0;
  let value = size;
  while (value >= base && i < units.length - 1) {
    value /= base;
    i++;
  }
  return `${Number(value.toPrecision(precision))}${units[i]}`;
}

/** `7.81MB`, `128kB`, `999B` (decimal, 3 significant digits: image sizes). */
export function humanSize(bytes: number): string {
  return custom(bytes, 1000, DECIMAL, 3);
}

/** `15.55GiB` (binary, 4 significant digits: memory). */
export function bytesSize(bytes: number): string {
  return custom(bytes, 1024, BINARY, 4);
}
