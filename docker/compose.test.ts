import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The compose file is checked as text: no compose tool is needed to run `npm test`, and the
// docker suite (image.docker.test.ts) runs the same steps with the Docker CLI.
const compose = readFileSync(new URL('./compose.yaml', import.meta.url), 'utf8');
/** The file without its comments, which may quote plain URLs on purpose. */
const settings = compose
  .split('\n')
  .filter((line) => !line.trimStart().startsWith('#'))
  .join('\n');
/** Service names: the keys indented by two spaces under `services:`. */
const services = [
  ...(settings.split(/^services:$/m)[1] ?? '').split(/^\S/m)[0]!.matchAll(/^ {2}([a-z0-9-]+):$/gm),
].map((match) => match[1]!);

describe('docker/compose.yaml', () => {
  it('runs every hop over TLS: no --insecure, no plain URL', () => {
    expect(settings).not.toMatch(/MQFED_INSECURE|--insecure/);
    expect(settings).not.toMatch(/\b(http|ws|mqtt):\/\//);
    expect(settings).toMatch(/MQFED_AUTH_URL: https:\/\/auth:8080/);
  });

  it('issues, in its one-shot `tls`, a certificate for every certificate a service is given', () => {
    const issue = /command: \["tls", "issue", (.*)\]/.exec(settings);
    expect(issue).not.toBeNull();
    const issued = issue![1]!
      .split(', ')
      .map((word) => JSON.parse(word) as string)
      .filter(
        (word, index, words) => !word.startsWith('--') && !words[index - 1]?.startsWith('--'),
      );
    const given = [...settings.matchAll(/MQFED_TLS_CERT: \/data\/tls\/(.+)\.pem/g)].map(
      (match) => match[1]!,
    );
    expect(given.length).toBeGreaterThan(0);
    expect(issued.sort()).toEqual([...given].sort());
    // Each certificate names the service's host name on the compose network: its own name.
    for (const name of issued) expect(services).toContain(name);
    expect(services).toEqual(expect.arrayContaining(['tls', 'auth', 'discovery', 'register']));
  });
});
