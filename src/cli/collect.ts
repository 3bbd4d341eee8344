/** commander's repeatable-or-comma-separated option parser. Its own module so that program.ts (and `--help`) does not load common.ts, which pulls in zod. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
