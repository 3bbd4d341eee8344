/**
 * `lspci -nnk -D` -> devices (pciutils lspci(8)). Each device is a block: a
 * header line at column 0, then tab-indented lines. Only a block's own indented
 * lines describe it, so a `Kernel driver in use:` text anywhere else (a device
 * name, another block) never changes a device's driver.
 *
 *   0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA104 [GeForce RTX 3070] [10de:2484] (rev a1)
 *   	Subsystem: ASUSTeK Computer Inc. Device [1043:87b8]
 *   	Kernel driver in use: vfio-pci
 *   	Kernel modules: nvidiafb, nouveau
 */
import { MODULE_NAME } from '../../patterns.js';
import { excerpt, splitLines, type Parsed } from './text.js';
import type { PciDevice } from './types.js';

/** What lspci tells; group, boot_vga and driver_override come from sysfs. */
export type LspciDevice = Omit<PciDevice, 'iommuGroup' | 'bootVga' | 'driverOverride'>;

const HEADER = /^([0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]) (.*?) \[([0-9a-fA-F]{4})\]: (.*)$/;
const ID = /\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]/g;
const DRIVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

interface Block {
  header: string;
  lines: string[];
}

/** Strip the trailing `(rev xx)` / `(prog-if …)` parts and the id, keep the names. */
function describe(rest: string, idIndex: number): string {
  return rest.slice(0, idIndex).trim();
}

function lastId(text: string): { id: string; index: number } | null {
  let found: { id: string; index: number } | null = null;
  for (const m of text.matchAll(ID)) found = { id: `${m[1]}:${m[2]}`.toLowerCase(), index: m.index };
  return found;
}

/** Cuts the output into device blocks (a header at column 0, its indented lines); lspci/pcilib warnings skipped. */
function splitBlocks(output: string, errors: string[]): Block[] {
  const blocks: Block[] = [];
  for (const line of splitLines(output)) {
    if (line.trim() === '') continue;
    if (line.startsWith('\t') || line.startsWith(' ')) {
      const current = blocks.at(-1);
      if (current) current.lines.push(line.trim());
      else errors.push(`lspci: indented line before any device ${excerpt(line)}`);
      continue;
    }
    // lspci/pcilib warnings on stderr (merged), e.g. `pcilib: sysfs_read_vpd: read failed: …`.
    if (/^(?:lspci|pcilib): /.test(line)) continue;
    blocks.push({ header: line, lines: [] });
  }
  return blocks;
}

interface Header {
  readonly address: string;
  readonly classCode: string;
  readonly className: string;
  readonly description: string;
  readonly id: string;
}

/** `0000:01:00.0 VGA compatible controller [0300]: NVIDIA … [10de:2484] (rev a1)`, or null with the reason in errors. */
function parseHeader(line: string, errors: string[]): Header | null {
  const h = HEADER.exec(line);
  if (!h || h[1] === undefined || h[2] === undefined || h[3] === undefined || h[4] === undefined) {
    errors.push(`lspci: unparsable device line ${excerpt(line)}`);
    return null;
  }
  const address = h[1].toLowerCase();
  if (!/^[0-9a-f]{4}:/.test(address)) {
    errors.push(`lspci: PCI domain wider than 4 digits is not supported: ${address}`);
    return null;
  }
  const id = lastId(h[4]);
  if (!id) {
    errors.push(`lspci: no [vendor:device] id for ${address}`);
    return null;
  }
  return { address, classCode: h[3].toLowerCase(), className: h[2].trim(), description: describe(h[4], id.index), id: id.id };
}

/** A block's own indented lines: subsystem id, the driver in use (one line at most), the candidate modules. */
function parseDetails(address: string, lines: readonly string[], errors: string[]): Pick<LspciDevice, 'subsystemId' | 'driver' | 'modules'> {
  let subsystemId: string | null = null;
  let driver: string | null = null;
  let modules: string[] = [];
  let driverLines = 0;
  for (const l of lines) {
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    const value = colon < 0 ? '' : l.slice(colon + 1).trim();
    if (field === 'Subsystem') {
      subsystemId = lastId(value)?.id ?? null;
    } else if (field === 'Kernel driver in use') {
      driverLines++;
      if (DRIVER_NAME.test(value)) driver = value;
      else errors.push(`lspci: ${address} has an implausible driver name ${excerpt(value)}`);
    } else if (field === 'Kernel modules') {
      modules = value.split(',').map((m) => m.trim()).filter((m) => m !== '');
      const bad = modules.filter((m) => !MODULE_NAME.test(m));
      if (bad.length > 0) {
        errors.push(`lspci: ${address} lists implausible module names ${excerpt(bad.join(', '))}`);
        modules = modules.filter((m) => MODULE_NAME.test(m));
      }
    }
  }
  if (driverLines > 1) {
    errors.push(`lspci: ${address} has ${driverLines} "Kernel driver in use" lines`);
    driver = null;
  }
  return { subsystemId, driver, modules };
}

export function parseLspci(output: string): Parsed<LspciDevice[]> {
  const errors: string[] = [];
  const devices: LspciDevice[] = [];
  const seen = new Set<string>();
  for (const b of splitBlocks(output, errors)) {
    const h = parseHeader(b.header, errors);
    if (!h) continue;
    if (seen.has(h.address)) {
      errors.push(`lspci: ${h.address} listed twice`);
      continue;
    }
    seen.add(h.address);
    const details = parseDetails(h.address, b.lines, errors);
    devices.push({
      address: h.address,
      classCode: h.classCode,
      className: h.className,
      description: h.description,
      id: h.id,
      ...details,
      isBridge: h.classCode.startsWith('06'),
    });
  }
  return { value: devices, errors };
}
