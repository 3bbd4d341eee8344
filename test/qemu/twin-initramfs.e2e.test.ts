/** The same with e1000e in the initramfs: udev loads it there, and the hook on vfio-pci still keeps it off the declared NIC. */
import { twinFlow } from './twin.js';

twinFlow({ name: 'twin-initramfs', driverInInitramfs: true });
