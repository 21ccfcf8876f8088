import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { brokerServiceDefaults } from '../broker/index.ts';
import {
  addMqttClientOptions,
  type MqttClientFlags,
  mqttClientOptionsOf,
} from './mqtt-client-flags.ts';

function parse(argv: string[], env: Record<string, string> = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const command = addMqttClientOptions(new Command('broker'))
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    command.parse(argv, { from: 'user' });
    return mqttClientOptionsOf(command.opts<MqttClientFlags>());
  } finally {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

describe('the MQTT client flags of mqfed broker', () => {
  it('default to the broker service defaults, anonymous off', () => {
    expect(parse([])).toEqual({
      allowAnonymous: false,
      maxClients: brokerServiceDefaults.maxClients,
      maxPacketBytes: brokerServiceDefaults.maxPacketBytes,
      maxRetainedPerClient: brokerServiceDefaults.maxRetainedPerClient,
      maxRetainedBytesPerClient: brokerServiceDefaults.maxRetainedBytesPerClient,
      maxRetained: brokerServiceDefaults.maxRetained,
      maxRetainedBytes: brokerServiceDefaults.maxRetainedBytes,
      maxInflightPerClient: brokerServiceDefaults.maxInflightPerClient,
      publishRate: brokerServiceDefaults.publishRate,
      maxSubscriptionsPerClient: brokerServiceDefaults.maxSubscriptionsPerClient,
    });
  });

  it('take flags and MQFED_* variables', () => {
    expect(
      parse(['--allow-anonymous', '--max-packet-size', '20000', '--publish-rate', '5'], {
        MQFED_MAX_INFLIGHT: '7',
        MQFED_MAX_CLIENTS: '3',
      }),
    ).toMatchObject({
      allowAnonymous: true,
      maxClients: 3,
      maxPacketBytes: 20_000,
      publishRate: 5,
      maxInflightPerClient: 7,
    });
    expect(parse([], { MQFED_ALLOW_ANONYMOUS: 'true' }).allowAnonymous).toBe(true);
  });

  it('refuses a limit that is no positive integer', () => {
    expect(() => parse(['--max-subscriptions', '0'])).toThrow(/positive integer/);
  });
});
