import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Dependencies point one way (DESIGN.md §2):
 *   scenarios → harness → system/{cli → broker → discovery → auth → common → protocol}
 *   reports → harness (result types) → system
 *   bench → harness, system (through each unit's index.ts)
 *   bin → app → system/cli, harness, reports
 * Each unit lists the units it may import; a unit may always import itself. Across units, only a
 * unit's public door (`index.ts`) may be imported, so internals stay free to change.
 */
const allowed: Record<string, readonly string[]> = {
  'system/protocol': [],
  'system/common': ['system/protocol'],
  'system/auth': ['system/protocol', 'system/common'],
  'system/discovery': ['system/protocol', 'system/common', 'system/auth'],
  'system/broker': ['system/protocol', 'system/common', 'system/auth', 'system/discovery'],
  'system/cli': [
    'system/protocol',
    'system/common',
    'system/auth',
    'system/discovery',
    'system/broker',
  ],
  // The container topology runs the image docker/ names and builds.
  harness: [
    'system/protocol',
    'system/common',
    'system/auth',
    'system/discovery',
    'system/broker',
    'docker',
  ],
  scenarios: ['harness', 'system/protocol'],
  reports: ['harness'],
  // The benchmarks drive the services as separate processes; they may use the system's doors
  // and the testbed's tooling.
  bench: [
    'harness',
    'system/protocol',
    'system/common',
    'system/auth',
    'system/discovery',
    'system/broker',
    'system/cli',
  ],
  // The compose one-shot registers brokers with the auth client, as the CLI does.
  docker: ['system/auth', 'system/protocol'],
  // The command line composed of all three: services, testbed and reports.
  app: ['system/cli', 'system/protocol', 'system/common', 'harness', 'reports', 'docker'],
  bin: ['app'],
};

/** The unit a repository path belongs to: `system/<part>` or a top-level folder. */
function unitOf(path: string): string | undefined {
  const [top, second] = path.split('/');
  if (top === undefined || second === undefined) return undefined;
  return top === 'system' ? `${top}/${second}` : top;
}

interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

/** Checks a map of repository-relative paths to source text against the rules above. */
function findViolations(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  const importPattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const [file, source] of files) {
    const from = unitOf(file);
    if (from === undefined) continue;
    for (const match of source.matchAll(importPattern)) {
      const specifier = match[1]!;
      const target = join(dirname(file), specifier).replaceAll('\\', '/');
      const to = unitOf(target);
      if (to === undefined || to === from) continue;
      // Tests and their fixtures anywhere may use the test tooling of system/common, which has a
      // door of its own (testing.ts) so that services never ship it.
      const isTestCode = /\.(test|fixtures)\.ts$/.test(file);
      const testTooling = isTestCode && to === 'system/common';
      if (!testTooling && !(allowed[from] ?? []).includes(to)) {
        violations.push({ file, specifier, reason: `${from} may not import ${to}` });
      } else if (
        to.startsWith('system/') &&
        target !== `${to}/index.ts` &&
        !(testTooling && target === 'system/common/testing.ts')
      ) {
        violations.push({ file, specifier, reason: `import ${to} through ${to}/index.ts` });
      }
    }
  }
  return violations;
}

function sourceFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|js|mjs)$/.test(entry.name)) {
        files.set(relative(root, full).replaceAll('\\', '/'), readFileSync(full, 'utf8'));
      }
    }
  };
  walk(root);
  return files;
}

describe('import direction between folders', () => {
  it('no file imports against the dependency direction or past a public door', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)));
    const files = sourceFiles(root);
    expect(files.size).toBeGreaterThan(5);
    expect(findViolations(files)).toEqual([]);
  });

  it('a lower layer importing a higher one is reported', () => {
    const files = new Map([
      ['system/protocol/x.ts', "import { a } from '../auth/index.ts';"],
      ['system/auth/y.ts', "import { b } from '../../harness/index.ts';"],
      ['harness/z.ts', "import { c } from '../scenarios/paper-1.ts';"],
    ]);
    expect(findViolations(files).map((v) => v.reason)).toEqual([
      'system/protocol may not import system/auth',
      'system/auth may not import harness',
      'harness may not import scenarios',
    ]);
  });

  it('an import past another unit’s index.ts is reported, one within the unit is not', () => {
    const files = new Map([
      ['system/discovery/a.ts', "import { x } from '../auth/token-verifier.ts';"],
      ['system/discovery/b.ts', "import { y } from './lease-table.ts';"],
      ['system/discovery/c.ts', "export { z } from '../auth/index.ts';"],
    ]);
    expect(findViolations(files)).toEqual([
      {
        file: 'system/discovery/a.ts',
        specifier: '../auth/token-verifier.ts',
        reason: 'import system/auth through system/auth/index.ts',
      },
    ]);
  });

  it('only tests and fixtures may use the test tooling door of system/common', () => {
    const files = new Map([
      ['system/broker/a.test.ts', "import { tempDir } from '../common/testing.ts';"],
      ['system/broker/b.fixtures.ts', "export { call } from '../common/testing.ts';"],
      ['harness/c.test.ts', "import { manualClock } from '../system/common/testing.ts';"],
      ['system/broker/d.ts', "import { tempDir } from '../common/testing.ts';"],
    ]);
    expect(findViolations(files).map((v) => `${v.file}: ${v.reason}`)).toEqual([
      'system/broker/d.ts: import system/common through system/common/index.ts',
    ]);
  });
});
