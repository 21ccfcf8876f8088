// The image's HEALTHCHECK: finds the mqfed command this container runs and probes
// GET /healthz of that service. Plain JavaScript, run by `node`, because the local base image
// has no shell or curl. Exit 0 is healthy, 1 unhealthy (Docker's contract).
//
// Which port: the services read it from a flag or an env variable (see `mqfed <service>
// --help`): auth serve and discovery from --port / MQFED_PORT, the broker from --http-port /
// MQFED_HTTP_PORT (its MQTT port serves no HTTP). The Dockerfile sets both env variables to
// 8080; a flag on the command line wins, as it does in the CLI.
//
// [design] Commands that are not long-running services (`run`, `auth register`, `--help`, `up`
// whose services take free ports) have nothing to probe: they report healthy rather than
// unhealthy, so that `depends_on: condition: service_healthy` or orchestrators never kill
// or block a container for running a one-shot command.
import { readdirSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const PROBE_TIMEOUT_MS = 2_000;

/** The argv after `bin/mqfed.js` of the mqfed process in this container, or undefined. */
function mqfedArgs() {
  // Usually PID 1, but `docker run --init` puts an init process there; look at every process.
  const pids = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .sort((a, b) => Number(a) - Number(b));
  for (const pid of pids) {
    let argv;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    const script = argv.findIndex((arg) => arg.endsWith('bin/mqfed.js'));
    if (script >= 0) return argv.slice(script + 1).filter((arg) => arg !== '');
  }
  return undefined;
}

/** The value of `--name value` or `--name=value`, last one winning as in commander. */
function flag(args, name) {
  let value;
  args.forEach((arg, index) => {
    if (arg === name) value = args[index + 1];
    else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
  });
  return value;
}

/** The HTTP port flag and env variable of the service `args` starts, if it is one. */
function serviceOf(args) {
  const [command, sub] = args;
  if (command === 'auth' && (sub === undefined || sub === 'serve' || sub.startsWith('-'))) {
    return { name: 'auth', portFlag: '--port', portEnv: 'MQFED_PORT' };
  }
  if (command === 'discovery')
    return { name: 'discovery', portFlag: '--port', portEnv: 'MQFED_PORT' };
  if (command === 'broker')
    return { name: 'broker', portFlag: '--http-port', portEnv: 'MQFED_HTTP_PORT' };
  return undefined;
}

function done(code, message) {
  console.log(message);
  process.exit(code);
}

const args = mqfedArgs();
if (args === undefined) done(0, 'no mqfed process in this container: nothing to probe');
if (args.includes('--help') || args.includes('-h')) done(0, 'help output: nothing to probe');
const service = serviceOf(args);
if (service === undefined) done(0, `mqfed ${args[0] ?? ''} is not a service: nothing to probe`);

const port = Number(flag(args, service.portFlag) ?? process.env[service.portEnv] ?? 0);
if (!Number.isInteger(port) || port <= 0) {
  done(0, `${service.name} listens on a port chosen at start (0): nothing to probe`);
}
// A wildcard bind answers on loopback; a specific address only there.
const bound = flag(args, '--host') ?? process.env.MQFED_HOST ?? '127.0.0.1';
const host = bound === '0.0.0.0' || bound === '::' || bound === '' ? '127.0.0.1' : bound;
// HTTPS unless the service runs with --insecure (flag or MQFED_INSECURE), as the CLI decides.
const insecure = args.includes('--insecure') || process.env.MQFED_INSECURE !== undefined;
const url = `${insecure ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;

/** GET `url`: [status, body]. [design] A liveness probe of this container's own process over
 *  loopback: it checks that the service answers, not who it is, so its certificate is not
 *  verified (the CA may be any file the service was given). */
function probe() {
  return new Promise((resolve, reject) => {
    const request = (insecure ? httpGet : httpsGet)(
      url,
      { rejectUnauthorized: false, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) },
      (response) => {
        let body = '';
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => resolve([response.statusCode ?? 0, body]));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
}

try {
  const [status, body] = await probe();
  if (status < 200 || status >= 300) done(1, `${service.name} ${url}: HTTP ${status} ${body}`);
  done(0, `${service.name} ${url}: ${body}`);
} catch (error) {
  done(1, `${service.name} ${url}: ${error.code ?? error.message}`);
}
