/**
 * Route handlers still running. Fastify's close() waits for requests on open connections only: a
 * handler whose client hung up (an upload whose body had arrived, then the client went) goes on
 * writing to the database and the blob store. Shutdown waits for those too before it closes them,
 * instead of failing the handler half-way and leaving its upload for the sweep.
 */
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';

export class RunningHandlers {
  private running = 0;
  private waiters: Array<() => void> = [];

  /** Counts every route's handler from the moment it starts until it settles. */
  track(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      route.handler = this.wrap(route.handler);
    });
  }

  /** Resolves true once no handler runs, or false after `timeoutMs` with some still running. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  get count(): number {
    return this.running;
  }

  private wrap(handler: RouteHandlerMethod): RouteHandlerMethod {
    const handlers = this;
    return function (this: FastifyInstance, request, reply) {
      handlers.running++;
      const done = () => handlers.finished();
      try {
        const result = handler.call(this, request, reply);
        if (result instanceof Promise) result.then(done, done);
        else done();
        return result;
      } catch (error) {
        done();
        throw error;
      }
    };
  }

  private finished(): void {
    this.running--;
    if (this.running > 0) return;
    for (const wake of this.waiters.splice(0)) wake();
  }
}
