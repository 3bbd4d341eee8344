/**
 * Strict patterns for every value that can reach a remote command, a file on a
 * host or an API call. Anything that does not match is rejected at the edge.
 */

/** Full PCI address with domain and function, lowercase: 0000:01:00.0 */
export const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
/** PCI slot or address, domain optional, function optional (hostpci `host` form): 01:00, 0000:01:00.1 */
export const PCI_ADDRESS_LOOSE = /^(?:[0-9a-fA-F]{4,}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(?:\.[0-7])?$/;
/** vendor:device, 4+4 lowercase hex, no 0x: 10de:2484 */
export const PCI_ID = /^[0-9a-f]{4}:[0-9a-f]{4}$/;
/** Kernel module or driver name (modprobe treats - and _ alike; drivers such as vfio-pci use -; iTCO_wdt has capitals). */
export const MODULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/**
 * A kernel command-line token: key or key=value, no quotes, spaces or shell metacharacters.
 * The key starts with a letter or digit: `--` would hand every later token to init, and `-x` looks like an option.
 */
export const KERNEL_PARAM = /^[A-Za-z0-9][A-Za-z0-9_.-]*(?:=[A-Za-z0-9_.,:=+\/-]+)?$/;
/** PVE node name (a DNS label). */
export const NODE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
/** PVE config id (mapping ids): letter first, then letters, digits, _ and -, at least 2 chars. */
export const CONFIG_ID = /^[a-zA-Z][a-zA-Z0-9_-]+$/;
/** SSH host key fingerprint as `ssh-keygen -lf` prints it. */
export const SSH_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
/** TLS certificate SHA-256 fingerprint as `pvenode cert info` prints it. */
export const TLS_FINGERPRINT = /^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/;
/** Host name or IP literal for SSH. */
export const HOST_NAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/;
/** PVE user id: user@realm. */
export const PVE_USER = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+$/;
/** API token id: user@realm!tokenid. */
export const PVE_TOKEN_ID = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/;
/** Environment variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
