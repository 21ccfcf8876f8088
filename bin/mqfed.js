#!/usr/bin/env node
// The project pins Node 24 as a devDependency; `npm start`, `npm test` and `npx mqfed` use it.
// Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `mqfed needs Node 24 or newer, this is ${process.version}. Run it through npm (npx mqfed ...) to use the project's Node.\n`,
  );
  process.exit(1);
}
const { runMqfed } = await import('../app/main.ts');
await runMqfed(process.argv);
