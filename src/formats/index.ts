export * from './errors.js';
export * from './hostpci.js';
export * from './machine.js';
export * from './mapping.js';
export * from './upid.js';
export { parseBool, splitPropertyString } from './property-string.js';
