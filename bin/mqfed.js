#!/usr/bin/env node
// mqfed runs on Node 24 and nothing else: it runs the TypeScript sources directly (Node 24's
// type stripping, no build step), and it is tested on 24 only. [design] The pin lives here, not in
// package.json's `engines`: npm itself often runs on an older system Node, and `engines` made every
// `npm ci` and `npx mqfed` warn about that npm, not about the Node that runs mqfed. The project's
// `node` devDependency (24) is the Node that `npm start`, `npm test` and `npx mqfed` run on;
// bin/node-pin.test.ts keeps this number and that dependency in step.
const NODE_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major !== NODE_MAJOR) {
  process.stderr.write(
    `mqfed: needs Node ${NODE_MAJOR}, this is Node ${process.versions.node}; run it through npm (npx mqfed ...), which uses the project's Node ${NODE_MAJOR}\n`,
  );
  process.exit(1);
}
const { runMqfed } = await import('../app/main.ts');
await runMqfed(process.argv);
