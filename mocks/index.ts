/** The simulated Proxmox cluster: hosts (SSH), API (HTTPS), and the fleet wiring. See mocks/README.md. */
export * from './fleet/index.js';
export * as hosts from './hosts/index.js';
export * as api from './api/index.js';
