import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docker/stack.yaml checked as text, with no engine (in `npm test`); stack.docker.test.ts
// deploys it. Its invariants: TLS everywhere from secrets, nothing secret in the environment,
// every secret the stack names is one docker/stack-secrets.sh makes, and the provisioning
// manifest matches the brokers.
const read = (name: string) => readFileSync(new URL(name, import.meta.url), 'utf8');
const settings = read('./stack.yaml')
  .split('\n')
  .filter((line) => !line.trimStart().startsWith('#'))
  .join('\n');
const script = read('./stack-secrets.sh');
const manifest = JSON.parse(read('./stack-provision.json')) as {
  services: { id: string; role: string; secretFile: string }[];
};

/** The text of each top-level section's entries, by name: `services` → { auth: '...', ... }. */
function entries(section: string): Record<string, string> {
  const body = settings.split(new RegExp(`^${section}:$`, 'm'))[1]?.split(/^\S/m)[0] ?? '';
  const parts = body.split(/^ {2}(?=[a-z0-9-]+:)/m).filter((part) => part.trim() !== '');
  return Object.fromEntries(parts.map((part) => [/^([a-z0-9-]+):/.exec(part)![1]!, part] as const));
}
const services = entries('services');
const secrets = entries('secrets');
/** `source: x, target: y` pairs of a service's secrets. */
const mounted = (text: string) =>
  [...text.matchAll(/\{ source: ([a-z0-9-]+), target: ([a-z0-9.-]+),/g)].map(
    ([, source, target]) => ({
      source: source!,
      target: target!,
    }),
  );
const bashArray = (name: string) =>
  /\(([^)]*)\)/
    .exec(new RegExp(`^${name}=\\(.*\\)$`, 'm').exec(script)?.[0] ?? '')?.[1]
    ?.split(' ') ?? [];

describe('docker/stack.yaml', () => {
  it('has auth, discovery and brokers b1..b3, with no depends_on (a stack ignores it)', () => {
    expect(Object.keys(services).sort()).toEqual(['auth', 'b1', 'b2', 'b3', 'discovery']);
    expect(settings).not.toMatch(/depends_on/);
  });

  it('runs every hop over TLS from secret files: no --insecure, no plain URL, no anonymous MQTT', () => {
    expect(settings).not.toMatch(/MQFED_INSECURE|--insecure|MQFED_ALLOW_ANONYMOUS/);
    expect(settings).not.toMatch(/\b(http|ws|mqtt):\/\//);
    for (const [name, text] of Object.entries(services)) {
      const targets = mounted(text).map((secret) => secret.target);
      for (const variable of ['MQFED_TLS_CA', 'MQFED_TLS_CERT', 'MQFED_TLS_KEY']) {
        const file = new RegExp(`${variable}: /run/secrets/(\\S+)`).exec(
          text.includes(variable) ? text : `${text}\n${settings}`,
        )?.[1];
        expect(file, `${name} ${variable}`).toBeDefined();
        expect(targets, `${name} mounts ${file}`).toContain(file);
      }
      expect(text, name).toContain(`MQFED_TLS_CERT: /run/secrets/${name}.pem`);
    }
  });

  it('puts nothing secret in the environment: credentials come as files', () => {
    expect(settings).not.toMatch(/MQFED_ADMIN_CREDENTIAL:|MQFED_BROKER_SECRET:/);
    expect(services.auth).toContain('MQFED_ADMIN_CREDENTIAL_FILE: /run/secrets/admin-credential');
    for (const id of ['b1', 'b2', 'b3']) {
      expect(services[id]).toContain('MQFED_BROKER_SECRET_FILE: /run/secrets/broker-secret');
      expect(mounted(services[id]!)).toContainEqual({
        source: `${id}-secret`,
        target: 'broker-secret',
      });
      expect(services[id]).toContain(`MQFED_ADVERTISED_HOST: ${id}`);
    }
    // Keys and credentials readable by the service's user alone.
    const modes = [...settings.matchAll(/target: ([a-z0-9.-]+), uid: "1000", mode: (\d+)/g)];
    expect(modes.length).toBeGreaterThan(0);
    for (const [, target, mode] of modes) {
      expect(mode, target).toBe(/key|secret|credential/.test(target!) ? '0400' : '0444');
    }
  });

  it('names only secrets that docker/stack-secrets.sh makes, all external', () => {
    const made = [
      'admin-credential',
      'demo-secret',
      'ca-pem',
      ...bashArray('brokers').map((id) => `${id}-secret`),
      ...bashArray('services').flatMap((name) => [`${name}-pem`, `${name}-key-pem`]),
    ];
    expect(bashArray('services')).toEqual(['auth', 'discovery', 'b1', 'b2', 'b3']);
    expect(Object.keys(secrets).sort()).toEqual([...made].sort());
    for (const [key, text] of Object.entries(secrets)) {
      expect(text, key).toContain(
        `external: true, name: "\${MQFED_STACK:?set MQFED_STACK}-${key}"`,
      );
    }
    const used = Object.values(services).flatMap((text) => mounted(text).map((s) => s.source));
    expect(new Set(used)).toEqual(new Set(made));
  });

  it('provisions each broker from the secret auth mounts, and the demo client', () => {
    const targets = mounted(services.auth!).map((secret) => `/run/secrets/${secret.target}`);
    expect(manifest.services.map(({ id, role }) => `${id}:${role}`)).toEqual([
      'b1:broker',
      'b2:broker',
      'b3:broker',
      'demo:client',
    ]);
    for (const entry of manifest.services) expect(targets).toContain(entry.secretFile);
    expect(services.auth).toContain('MQFED_AUTH_PROVISION: /run/mqfed/provision.json');
  });

  it('publishes in host mode on ports set by env, and resolves names without a virtual IP', () => {
    const published = [...settings.matchAll(/published: (.+)\n\s+protocol: tcp\n\s+mode: (\w+)/g)];
    expect(published.map(([, port]) => port)).toEqual(
      [
        'MQFED_AUTH_HOST_PORT:-8080',
        'MQFED_B1_MQTTS_PORT:-8883',
        'MQFED_B2_MQTTS_PORT:-8884',
        'MQFED_B3_MQTTS_PORT:-8885',
      ].map((variable) => `\${${variable}}`),
    );
    expect(new Set(published.map(([, , mode]) => mode))).toEqual(new Set(['host']));
    expect(settings).toMatch(/endpoint_mode: dnsrr/);
    expect(settings).toMatch(/restart_policy:\n\s+condition: any/);
    for (const text of Object.values(services))
      expect(text).toMatch(/deploy: \*deploy|<<: \*deploy/);
  });
});
