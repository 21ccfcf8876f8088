export { buildImage, MQFED_IMAGE } from '../docker/index.ts';
export * from './baselines/mosquitto-binary.ts';
export * from './baselines/mosquitto-bridges.ts';
export * from './baselines/mosquitto-topology.ts';
export * from './comparison.ts';
export { didYouMean } from './did-you-mean.ts';
export * from './environment.ts';
export * from './load-scenario.ts';
export * from './mobility.ts';
export * from './network/delay-proxy.ts';
export * from './network/emulated-network.ts';
export * from './network/link-proxies.ts';
export * from './network/network-spec.ts';
export { bar, Progress } from './progress.ts';
export * from './recording/cost-meter.ts';
export * from './recording/cpu-pinning.ts';
export {
  DeliveryRecorder,
  type Expectation,
  PATHS,
  type PathName,
  PHASES,
  type PhaseName,
} from './recording/delivery-recorder.ts';
export * from './recording/histogram.ts';
export { measureFloor } from './recording/measuring-floor.ts';
export * from './recording/noise-monitor.ts';
export * from './recording/resource-sampler.ts';
export * from './results/index.ts';
export * from './run-scenario.ts';
export * from './run-variant.ts';
export * from './scenario.ts';
export * from './testbed-error.ts';
export * from './topology/client-host-server.ts';
export { containerEngineAnswers } from './topology/container-engine.ts';
export * from './topology/containers.ts';
export * from './topology/in-process.ts';
export * from './topology/processes.ts';
export { type SwarmTopologyOptions, swarmTopology } from './topology/swarm.ts';
export * from './topology/topology.ts';
export * from './workload/client-connection.ts';
export { runClientHost } from './workload/client-host-agent.ts';
export type { MobileClient } from './workload/mobility-driver.ts';
export { connectMqtt } from './workload/mqtt-connect.ts';
export { OpenLoopPublisher, type PublisherSchedule } from './workload/open-loop-publisher.ts';
export * from './workload/payload.ts';
export { SimulatedSubscriber } from './workload/simulated-subscriber.ts';
