/** Two identical NICs, one declared: binding by address survives a real reboot (MODULES=dep: e1000e loads from the root fs). */
import { twinFlow } from './twin.js';

twinFlow({ name: 'twin', driverInInitramfs: false });
