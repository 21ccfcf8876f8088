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
  // The results document and its statistics: what reports and benchmarks read, without loading
  // the runner.
  'harness/results': [],
  // The container topology runs the image docker/ names and builds.
  harness: [
    'harness/results',
    'system/protocol',
    'system/common',
    'system/auth',
    'system/discovery',
    'system/broker',
    'docker',
  ],
  scenarios: ['harness', 'system/protocol'],
  reports: ['harness/results'],
  // The benchmarks drive the services as separate processes; they may use the system's doors
  // and the testbed's tooling.
  bench: [
    'harness',
    'harness/results',
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
  app: [
    'system/cli',
    'system/protocol',
    'system/common',
    'harness',
    'harness/results',
    'reports',
    'docker',
  ],
  bin: ['app'],
};

/** Folders with a door of their own inside a top-level folder. */
const INNER_UNITS = new Set(['harness/results']);

/** The unit a repository path belongs to: `system/<part>`, an inner unit or a top-level folder. */
function unitOf(path: string): string | undefined {
  const [top, second] = path.split('/');
  if (top === undefined || second === undefined) return undefined;
  if (top === 'system' || INNER_UNITS.has(`${top}/${second}`)) return `${top}/${second}`;
  return top;
}

interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

/** The relative imports of one file: each specifier and the repository path it names. */
function* importsOf(
  file: string,
  source: string,
): Generator<{ specifier: string; target: string }> {
  const importPattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const match of source.matchAll(importPattern)) {
    const specifier = match[1]!;
    yield { specifier, target: join(dirname(file), specifier).replaceAll('\\', '/') };
  }
}

/** Checks a map of repository-relative paths to source text against the rules above. */
function findViolations(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  for (const [file, source] of files) {
    const from = unitOf(file);
    if (from === undefined) continue;
    for (const { specifier, target } of importsOf(file, source)) {
      const to = unitOf(target);
      if (to === undefined || to === from) continue;
      // Tests and their fixtures anywhere may use the test tooling of system/common, which has a
      // door of its own (testing.ts) so that services never ship it.
      const isTestCode = /\.(test|fixtures)\.ts$/.test(file);
      const testTooling = isTestCode && to === 'system/common';
      if (!testTooling && !(allowed[from] ?? []).includes(to)) {
        violations.push({ file, specifier, reason: `${from} may not import ${to}` });
      } else if (
        (to.startsWith('system/') || INNER_UNITS.has(to)) &&
        target !== `${to}/index.ts` &&
        !(testTooling && target === 'system/common/testing.ts')
      ) {
        violations.push({ file, specifier, reason: `import ${to} through ${to}/index.ts` });
      }
    }
  }
  return violations;
}

function sourceFiles(dir: string, root = dir): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|js|mjs)$/.test(entry.name)) {
        files.set(relative(root, full).replaceAll('\\', '/'), readFileSync(full, 'utf8'));
      }
    }
  };
  walk(dir);
  return files;
}

/** Harness files' imports of other harness files, by repository path. */
function harnessImports(files: ReadonlyMap<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, source] of files) {
    if (!file.startsWith('harness/')) continue;
    const targets = [...importsOf(file, source)].map(({ target }) => target);
    graph.set(
      file,
      targets.filter((target) => target.startsWith('harness/')),
    );
  }
  return graph;
}

/** Every import cycle among the files (Tarjan's strongly connected components of two or more). */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string) => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

/**
 * Layers inside harness/ (DESIGN.md §2): topology/ (where services run) and workload/ (what the
 * clients do) meet only in seams/ (the client seam, the run's clock, the client-host protocol)
 * and in the runner above them; seams/ imports no other harness folder. Tests may assemble what
 * they need (a workload test publishes to a topology's brokers), so they are left out.
 */
const HARNESS_LAYERS: Record<string, readonly string[]> = {
  'harness/topology/': ['harness/workload/'],
  'harness/workload/': ['harness/topology/'],
  'harness/seams/': ['harness/'],
};

function layerViolations(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    if (file.endsWith('.test.ts')) continue;
    const folder = file.slice(0, file.lastIndexOf('/') + 1);
    for (const target of targets) {
      const forbidden = HARNESS_LAYERS[folder] ?? [];
      if (target.startsWith(folder)) continue;
      if (forbidden.some((prefix) => target.startsWith(prefix))) found.push(`${file} → ${target}`);
    }
  }
  return found;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)));

describe('import direction between folders', () => {
  it('no file imports against the dependency direction or past a public door', () => {
    const files = sourceFiles(ROOT);
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

describe('layers inside harness/', () => {
  const graph = harnessImports(sourceFiles(join(ROOT, 'harness'), ROOT));

  it('no harness file imports itself through others (no import cycle)', () => {
    expect(graph.size).toBeGreaterThan(20);
    expect(importCycles(graph)).toEqual([]);
  });

  it('topology/ and workload/ never import each other, and seams/ imports neither', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('a cycle and a crossing between the layers are reported', () => {
    const files = new Map([
      ['harness/a.ts', "import { b } from './b.ts';"],
      ['harness/b.ts', "import type { a } from './a.ts';"],
      ['harness/topology/t.ts', "import { w } from '../workload/w.ts';"],
      ['harness/workload/w.ts', "import { s } from '../seams/s.ts';"],
      ['harness/seams/s.ts', "import { x } from '../recording/x.ts';"],
      ['harness/workload/w.test.ts', "import { t } from '../topology/t.ts';"],
    ]);
    const sample = harnessImports(files);
    expect(importCycles(sample)).toEqual([['harness/a.ts', 'harness/b.ts']]);
    expect(layerViolations(sample)).toEqual([
      'harness/topology/t.ts → harness/workload/w.ts',
      'harness/seams/s.ts → harness/recording/x.ts',
    ]);
  });
});
