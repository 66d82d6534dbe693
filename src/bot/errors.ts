/**
 * Errors whose message is meant for the Discord user. Anything else that
 * reaches the interaction router is logged and answered with a generic,
 * human message (never a stack trace).
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(message: string) {
    super(message);
  }
}

/** The user asked too often; `retryAfterMs` says when they may again. */
export class RateLimitedError extends UserError {
  override name = 'RateLimitedError';
  constructor(public readonly retryAfterMs: number) {
    super(`You're generating a lot of sneakers! Try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`);
  }
}

/** The generation queue is full. */
export class BusyError extends UserError {
  override name = 'BusyError';
  constructor() {
    super('The sneaker factory is busy right now. Try again in a few seconds.');
  }
}
