// What a forwarded message allocates in the process of `mqfed up`, by layer and by function.
//
//   npm run bench:alloc -- [--rate 2000] [--seconds 10] [--path cross|same] [--repeat 3]
//
// [design] A message that allocates makes work for the scavenger later, and allocation is one of
// the costs issue 15 asks to look at. V8's sampling heap profiler, opened through the inspector,
// records where allocations happen (one sample per `--interval` bytes on average, scaled to an
// estimate of all bytes), and keeps the objects a collection has since freed, which is most of
// what a message allocates. The federation runs as `mqfed up` (both brokers in one process, as
// the CLI starts it), so one profile holds both ends of the link. What the process allocates when
// idle over the same time is taken away, so timers and lease renewals are not charged to
// messages. The publisher and subscriber are MQTT.js in this process, outside the profile.
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import mqtt from 'mqtt';
import { bar, Progress } from '../harness/progress.ts';
import { type AllocationProfile, allocationByLayer, type LayerBytes } from './alloc-layers.ts';
import { positiveInt } from './flag-parsers.ts';
import { spread, spreadText } from './mosquitto-targets.ts';
import { UP_PROCESS } from './paths.ts';
import { inspectorOption, openInspector, type ServiceInspector } from './service-gc.ts';
import { startUpFederation } from './up-federation.ts';

const flags = new Command('bench:alloc')
  .description(
    'Bytes allocated per forwarded message in the process of `mqfed up`, by layer and by ' +
      'function, from V8 sampling heap profiles taken through the inspector',
  )
  .option('--rate <msg/s>', 'publishes per second, QoS 0, 64 B', positiveInt, 2000)
  .option('--seconds <s>', 'length of each profiled window', positiveInt, 10)
  .addOption(
    new Option('--path <path>', 'cross: publisher on b1, subscriber on b2; same: both on b1')
      .choices(['cross', 'same'])
      .default('cross'),
  )
  .option('--repeat <n>', 'profiled windows, for the median and range', positiveInt, 3)
  .option('--interval <bytes>', 'mean bytes between samples', positiveInt, 256)
  .option('--top <n>', 'functions listed', positiveInt, 15)
  .option('--out <path>', 'write every window and the figures here as JSON')
  .parse()
  .opts<{
    rate: number;
    seconds: number;
    path: 'cross' | 'same';
    repeat: number;
    interval: number;
    top: number;
    out?: string;
  }>();

const TOPIC = 'alloc/sensor/temperature';
const PAYLOAD = Buffer.alloc(64, 7);
const progress = new Progress();

async function profiled(inspector: ServiceInspector, during: () => Promise<void>) {
  await inspector.collect();
  await inspector.call('HeapProfiler.startSampling', {
    samplingInterval: flags.interval,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await during();
  const { profile } = (await inspector.call('HeapProfiler.stopSampling')) as {
    profile: AllocationProfile;
  };
  return allocationByLayer(profile);
}

/** Publishes at the rate for the window and waits until the subscriber has had every message. */
async function publishWindow(publisher: mqtt.MqttClient, received: () => number) {
  const total = flags.rate * flags.seconds;
  const start = received();
  const began = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - began) / 1000) * flags.rate));
    for (; sent < due; sent += 1) publisher.publish(TOPIC, PAYLOAD, { qos: 0 });
    await sleep(1);
  }
  const deadline = performance.now() + 30_000;
  while (received() - start < total && performance.now() < deadline) await sleep(20);
  const arrived = received() - start;
  if (arrived < total) throw new Error(`only ${arrived} of ${total} messages arrived`);
  return total;
}

const { port, nodeOptions } = await inspectorOption();
progress.update('starting mqfed up with two brokers');
const up = await startUpFederation(['a', 'b'], { NODE_OPTIONS: nodeOptions });
const clients: mqtt.MqttClient[] = [];
try {
  const subscriber = await mqtt.connectAsync(
    up.endpoint(flags.path === 'cross' ? 'b' : 'a').mqttUrl,
  );
  const publisher = await mqtt.connectAsync(up.endpoint('a').mqttUrl);
  clients.push(subscriber, publisher);
  let received = 0;
  subscriber.on('message', () => {
    received += 1;
  });
  await subscriber.subscribeAsync('alloc/#', { qos: 0 });
  progress.update('waiting for the link: probes until one arrives');
  const deadline = performance.now() + 30_000;
  while (received === 0) {
    if (performance.now() > deadline) throw new Error('no probe arrived within 30 s');
    publisher.publish(TOPIC, PAYLOAD, { qos: 0 });
    await sleep(100);
  }
  progress.update(`warming up: ${flags.seconds} s at ${flags.rate} msg/s`);
  await publishWindow(publisher, () => received);
  const inspector = await openInspector(up.processIds!().get(UP_PROCESS)!, port);
  const windows: { idle: LayerBytes; load: LayerBytes; messages: number }[] = [];
  try {
    for (let index = 0; index < flags.repeat; index += 1) {
      progress.update(`${bar(index / flags.repeat)} window ${index + 1}: idle ${flags.seconds} s`);
      const idle = await profiled(inspector, () => sleep(flags.seconds * 1000));
      progress.update(`${bar((index + 0.5) / flags.repeat)} window ${index + 1}: publishing`);
      let messages = 0;
      const load = await profiled(inspector, async () => {
        messages = await publishWindow(publisher, () => received);
      });
      windows.push({ idle, load, messages });
    }
  } finally {
    await inspector.close();
  }
  progress.clear();
  report(windows);
  if (flags.out !== undefined) {
    await writeFile(flags.out, `${JSON.stringify({ parameters: flags, windows }, null, 2)}\n`);
  }
} finally {
  await Promise.all(clients.map((client) => client.endAsync(true)));
  await up.close();
}

function report(windows: { idle: LayerBytes; load: LayerBytes; messages: number }[]) {
  const perMessage = (pick: (bytes: LayerBytes) => number) =>
    spread(windows.map((w) => (pick(w.load) - pick(w.idle)) / w.messages));
  const text = (s: ReturnType<typeof spread>) => spreadText(s, (v) => v.toFixed(0));
  const layers = new Set(windows.flatMap((w) => Object.keys(w.load.layers)));
  const rows = [...layers]
    .map((layer) => ({ layer, bytes: perMessage((b) => b.layers[layer] ?? 0) }))
    .sort((x, y) => (y.bytes.median ?? 0) - (x.bytes.median ?? 0));
  console.log(
    `Bytes allocated per message, ${flags.path} path, ${flags.rate} msg/s of 64 B at QoS 0, ` +
      `mqfed up (median of ${windows.length} windows of ${flags.seconds} s [min–max]; ` +
      'idle allocation over the same time taken away)',
  );
  console.log(`  all                                   ${text(perMessage((b) => b.total))}`);
  for (const { layer, bytes } of rows) console.log(`  ${layer.padEnd(38)}${text(bytes)}`);
  const functions = new Set(windows.flatMap((w) => Object.keys(w.load.functions)));
  const top = [...functions]
    .map((name) => ({ name, bytes: perMessage((b) => b.functions[name] ?? 0) }))
    .sort((x, y) => (y.bytes.median ?? 0) - (x.bytes.median ?? 0))
    .slice(0, flags.top);
  console.log('Functions that allocate most, bytes per message');
  for (const { name, bytes } of top) console.log(`  ${text(bytes).padStart(12)}  ${name}`);
}
