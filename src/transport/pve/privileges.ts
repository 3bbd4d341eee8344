/**
 * The privilege a 403 most likely means, by endpoint (qemu-server
 * src/PVE/API2/Qemu.pm check_hostpci_perm, pve-access-control, pve-docs pveum.adoc).
 * PVE's own message names the check but not always the path; this names both.
 */
const TABLE: ReadonlyArray<readonly [string, RegExp, (m: RegExpExecArray) => string]> = [
  ['GET', /^\/nodes\/[^/]+\/qemu\/([^/]+)\/(?:config|pending|status\/current)$/, (m) => `VM.Audit on /vms/${m[1]}`],
  ['POST', /^\/nodes\/[^/]+\/qemu\/([^/]+)\/config$/, (m) => `VM.Config.HWType on /vms/${m[1]} (and Mapping.Use on /mapping/pci/<id> for mapped devices)`],
  ['PUT', /^\/nodes\/[^/]+\/qemu\/([^/]+)\/config$/, (m) => `VM.Config.HWType on /vms/${m[1]} (and Mapping.Use on /mapping/pci/<id> for mapped devices)`],
  ['POST', /^\/nodes\/[^/]+\/qemu\/([^/]+)\/status\/(?:start|stop|shutdown|reboot)$/, (m) => `VM.PowerMgmt on /vms/${m[1]}`],
  ['GET', /^\/nodes\/[^/]+\/hardware\/pci/, () => 'Sys.Audit on /'],
  ['GET', /^\/cluster\/status$/, () => 'Sys.Audit on /'],
  ['GET', /^\/cluster\/mapping\/pci\/([^/]+)$/, (m) => `Mapping.Audit on /mapping/pci/${m[1]}`],
  ['GET', /^\/cluster\/mapping\/pci$/, () => 'Mapping.Audit on /mapping/pci/<id>'],
  ['POST', /^\/cluster\/mapping\/pci$/, () => 'Mapping.Modify on /mapping/pci'],
  ['PUT', /^\/cluster\/mapping\/pci\/([^/]+)$/, (m) => `Mapping.Modify on /mapping/pci/${m[1]}`],
  ['DELETE', /^\/cluster\/mapping\/pci\/[^/]+$/, () => 'Mapping.Modify on /mapping/pci'],
  ['POST', /^\/nodes\/([^/]+)\/status$/, (m) => `Sys.PowerMgmt on /nodes/${m[1]}`],
  ['GET', /^\/nodes\/([^/]+)\/tasks\//, (m) => `Sys.Audit on /nodes/${m[1]} (for tasks started by another user)`],
  ['GET', /^\/cluster\/(?:resources|ha\/resources)$/, () => 'VM.Audit on the guests (Sys.Audit on / for HA)'],
];

export function likelyPrivilege(method: string, path: string): string | undefined {
  for (const [m, re, fmt] of TABLE) {
    if (m !== method) continue;
    const hit = re.exec(path);
    if (hit) return fmt(hit);
  }
  return undefined;
}
