#!/usr/bin/env node
// Makes the compact schema extract the tests check requests against:
//   node scripts/extract-pve-schema.mjs APIDATA.json > test/fixtures/pve-schema/endpoints.json
// APIDATA.json: the API schema pve-docs ships for its api-viewer (api-viewer/apidata.js), as JSON.
// Only the endpoints pve-passthrough calls, only the fields a check needs
// (type, optional, pattern, enum, format, typetext, limits); descriptions dropped.
import { readFileSync } from 'node:fs';

const USED = [
  ['GET', '/version'],
  ['GET', '/cluster/status'],
  ['GET', '/cluster/resources'],
  ['GET', '/cluster/ha/resources'],
  ['GET', '/nodes'],
  ['POST', '/nodes/{node}/status'],
  ['GET', '/nodes/{node}/qemu'],
  ['GET', '/nodes/{node}/qemu/{vmid}/config'],
  ['POST', '/nodes/{node}/qemu/{vmid}/config'],
  ['PUT', '/nodes/{node}/qemu/{vmid}/config'],
  ['GET', '/nodes/{node}/qemu/{vmid}/pending'],
  ['GET', '/nodes/{node}/qemu/{vmid}/status/current'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/start'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/stop'],
  ['POST', '/nodes/{node}/qemu/{vmid}/status/shutdown'],
  ['GET', '/nodes/{node}/tasks/{upid}/status'],
  ['GET', '/nodes/{node}/tasks/{upid}/log'],
  ['GET', '/nodes/{node}/hardware/pci'],
  ['GET', '/nodes/{node}/capabilities/qemu/machines'],
  ['GET', '/cluster/mapping/pci'],
  ['POST', '/cluster/mapping/pci'],
  ['GET', '/cluster/mapping/pci/{id}'],
  ['PUT', '/cluster/mapping/pci/{id}'],
  ['DELETE', '/cluster/mapping/pci/{id}'],
  ['POST', '/access/ticket'],
];
const KEEP = ['type', 'optional', 'pattern', 'enum', 'format', 'typetext', 'maxLength', 'minLength', 'minimum', 'maximum', 'default'];

function compact(prop) {
  const out = {};
  for (const k of KEEP) {
    if (prop[k] === undefined) continue;
    if (k === 'format' && typeof prop.format === 'object') {
      out.format = Object.fromEntries(Object.entries(prop.format).map(([n, p]) => [n, compact(p)]));
    } else out[k] = prop[k];
  }
  if (prop.items) out.items = compact(prop.items);
  return out;
}

function* walk(nodes) {
  for (const n of nodes) {
    yield n;
    if (n.children) yield* walk(n.children);
  }
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: extract-pve-schema.mjs <path to pve-apidata.json>\n');
  process.exit(1);
}
const schema = JSON.parse(readFileSync(file, 'utf8'));
const byPath = new Map([...walk(schema)].map((n) => [n.path, n]));
const endpoints = [];
for (const [method, path] of USED) {
  const info = byPath.get(path)?.info?.[method];
  if (!info) {
    process.stderr.write(`missing in schema: ${method} ${path}\n`);
    process.exit(2);
  }
  const props = info.parameters?.properties ?? {};
  endpoints.push({
    method,
    path,
    allowtoken: info.allowtoken ?? 1,
    protected: info.protected ?? 0,
    parameters: Object.fromEntries(Object.entries(props).sort(([a], [b]) => a.localeCompare(b)).map(([n, p]) => [n, compact(p)])),
  });
}
process.stdout.write(JSON.stringify({
  source: 'proxmox/pve-docs api-viewer/apidata.js (PVE 9.1, pve-docs 9.1.3); AGPL-3.0-or-later data, (c) Proxmox Server Solutions GmbH',
  endpoints,
}, null, 1) + '\n');
