/** BIOS + GRUB guest: the kernel command line goes through /etc/default/grub.d and update-grub. */
import { passthroughFlow } from './flow.js';

passthroughFlow({
  name: 'grub',
  firmware: 'bios',
  buildScripts: ['build-image.sh'],
  bootLoader: 'grub',
  written: ['/etc/default/grub.d/pve-passthrough.cfg', '/etc/modules-load.d/pve-passthrough.conf', '/etc/modprobe.d/pve-passthrough.conf'],
  watched: ['/etc/default/grub', '/etc/modules', '/boot/grub/grub.cfg'],
  // The image boots from a hand-made grub.cfg (a chroot cannot run grub-probe); an installed host
  // has Debian's generated one, and rollback's update-grub regenerates it, so start from that.
  normalise: 'update-grub',
});
