import { type Command, Option } from 'commander';
import { type BrokerServiceOptions, brokerServiceDefaults } from '../broker/index.ts';
import { parsePositiveInt } from './parsers.ts';

/**
 * The flags of a broker's MQTT clients: anonymous access, per-client limits and how many clients
 * connect at once.
 */
export interface MqttClientFlags {
  allowAnonymous: boolean;
  maxClients: number;
  maxPacketSize: number;
  maxRetainedPerClient: number;
  maxRetainedBytesPerClient: number;
  maxRetained: number;
  maxRetainedBytes: number;
  maxInflight: number;
  publishRate: number;
  maxSubscriptions: number;
}

const d = brokerServiceDefaults;

/** Adds the MQTT client flags to `mqfed broker` and `mqfed up`. */
export function addMqttClientOptions(command: Command): Command {
  command.addOption(
    new Option(
      '--allow-anonymous',
      'take MQTT clients without credentials (full access) even off loopback',
    )
      .env('MQFED_ALLOW_ANONYMOUS')
      .default(false),
  );
  const limit = (flag: string, env: string, help: string, value: number) =>
    command.addOption(new Option(flag, help).env(env).argParser(parsePositiveInt).default(value));
  // [design] In this group, not beside the broker's other caps, so that `mqfed up` applies it
  // to every broker it starts from the same definition (flag, variable, default, parser).
  limit(
    '--max-clients <n>',
    'MQFED_MAX_CLIENTS',
    'connected MQTT clients; more are refused (CONNACK 3) unless they take over their own id',
    d.maxClients,
  );
  limit(
    '--max-packet-size <bytes>',
    'MQFED_MAX_PACKET_SIZE',
    'largest MQTT packet a client may send; a bigger one closes its connection',
    d.maxPacketBytes,
  );
  limit(
    '--max-retained-per-client <n>',
    'MQFED_MAX_RETAINED_PER_CLIENT',
    'retained messages one client may own',
    d.maxRetainedPerClient,
  );
  limit(
    '--max-retained-bytes-per-client <bytes>',
    'MQFED_MAX_RETAINED_BYTES_PER_CLIENT',
    'their bytes (topic and payload)',
    d.maxRetainedBytesPerClient,
  );
  limit(
    '--max-retained <n>',
    'MQFED_MAX_RETAINED',
    'retained messages of all clients',
    d.maxRetained,
  );
  limit(
    '--max-retained-bytes <bytes>',
    'MQFED_MAX_RETAINED_BYTES',
    'their bytes',
    d.maxRetainedBytes,
  );
  limit(
    '--max-inflight <n>',
    'MQFED_MAX_INFLIGHT',
    'unacknowledged QoS 1/2 deliveries per client; more are skipped for it',
    d.maxInflightPerClient,
  );
  limit(
    '--publish-rate <n>',
    'MQFED_PUBLISH_RATE',
    'PUBLISH packets per second per client; faster ones are held back',
    d.publishRate,
  );
  limit(
    '--max-subscriptions <n>',
    'MQFED_MAX_SUBSCRIPTIONS',
    'filters one client may subscribe',
    d.maxSubscriptionsPerClient,
  );
  return command;
}

/** The broker options of those flags. */
export function mqttClientOptionsOf(
  flags: MqttClientFlags,
): Pick<
  BrokerServiceOptions,
  | 'allowAnonymous'
  | 'maxClients'
  | 'maxPacketBytes'
  | 'maxRetainedPerClient'
  | 'maxRetainedBytesPerClient'
  | 'maxRetained'
  | 'maxRetainedBytes'
  | 'maxInflightPerClient'
  | 'publishRate'
  | 'maxSubscriptionsPerClient'
> {
  return {
    allowAnonymous: flags.allowAnonymous,
    maxClients: flags.maxClients,
    maxPacketBytes: flags.maxPacketSize,
    maxRetainedPerClient: flags.maxRetainedPerClient,
    maxRetainedBytesPerClient: flags.maxRetainedBytesPerClient,
    maxRetained: flags.maxRetained,
    maxRetainedBytes: flags.maxRetainedBytes,
    maxInflightPerClient: flags.maxInflight,
    publishRate: flags.publishRate,
    maxSubscriptionsPerClient: flags.maxSubscriptions,
  };
}
