import { Counter, Histogram, type Registry } from 'prom-client';

/** Sides and outcomes of a session move: fixed sets, so no peer mints a label value. */
export const sessionMoveOutcomes = [
  'moved',
  'none',
  'ended',
  'failed',
  'refused',
  'forbidden',
  'directory_unavailable',
  'tail_lost',
  'tail_refused',
] as const;

export interface SessionMetrics {
  readonly moves: Counter<'side' | 'outcome'>;
  /** From the directory claim to the session installed here, for moves that brought one. */
  readonly takeSeconds: Histogram;
  /** Live connections closed here because their client id connected at another broker. */
  readonly takeovers: Counter;
  /** Messages pushed here after a move (the old holder's tail). */
  readonly tailMessages: Counter;
  /** Moved messages refused: their topic matched none of the session's subscriptions. */
  readonly refusedMessages: Counter;
}

export function createSessionMetrics(registry: Registry): SessionMetrics {
  const moves = new Counter({
    name: 'mqfed_broker_session_moves_total',
    help: 'Sessions moved between brokers, by side (taker, giver) and outcome',
    labelNames: ['side', 'outcome'] as const,
    registers: [registry],
  });
  for (const side of ['taker', 'giver']) {
    for (const outcome of sessionMoveOutcomes) moves.inc({ side, outcome }, 0);
  }
  return {
    moves,
    takeSeconds: new Histogram({
      name: 'mqfed_broker_session_take_seconds',
      help: 'Time to take a session from its previous broker, claim to installed',
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    takeovers: new Counter({
      name: 'mqfed_broker_session_takeovers_total',
      help: 'Connections closed because their client id connected at another broker',
      registers: [registry],
    }),
    tailMessages: new Counter({
      name: 'mqfed_broker_session_tail_messages_total',
      help: 'Messages the previous holder of a moved session pushed after the move (DUP set)',
      registers: [registry],
    }),
    refusedMessages: new Counter({
      name: 'mqfed_broker_session_refused_messages_total',
      help: 'Moved messages refused because no subscription of the session matched them',
      registers: [registry],
    }),
  };
}
