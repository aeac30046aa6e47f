/**
 * Load shedding (docs/adr/0023): while the event loop lags more than LOAD_SHED_EVENT_LOOP_DELAY_MS, requests are
 * answered at once with 503, Retry-After and the service's page, instead of joining a queue in which every request
 * slows down together until the edge times them out. What `@fastify/under-pressure` does for event-loop delay, in
 * the app's own error page and without its other probes.
 *
 * The lag is the mean delay of a 10 ms timer over the last sampling interval (perf_hooks' histogram, as
 * under-pressure measures it). An interval with no sample at all (the loop never came back) counts as overloaded.
 * A route opts out with `config: { loadShedding: false }`: /ping/elb, so that shedding never looks like ill health
 * to the load balancer (it would pull every instance at once).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { httpError } from './http-error.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: never shed (the load balancer's health check). */
    loadShedding?: boolean;
  }
}

const RESOLUTION_MS = 10;

export interface LoadSheddingOptions {
  /** Shed while the mean event-loop delay is above this; 0 turns shedding off. */
  readonly maxEventLoopDelayMs: number;
  readonly retryAfterSeconds: number;
  /** How often the delay is read (default 250 ms): how quickly shedding starts and stops. */
  readonly sampleIntervalMs?: number;
}

/** The event loop's recent delay, read every `intervalMs`. */
export class EventLoopDelay {
  readonly #histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  readonly #timer: NodeJS.Timeout;
  #delayMs = 0;

  constructor(intervalMs: number) {
    this.#histogram.enable();
    this.#timer = setInterval(() => { this.#sample(); }, intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    const mean = this.#histogram.mean;
    this.#delayMs = Number.isNaN(mean) || this.#histogram.count === 0 ? Infinity : Math.max(0, mean / 1e6 - RESOLUTION_MS);
    this.#histogram.reset();
  }

  /** Milliseconds, as of the last sample. */
  get delayMs(): number {
    return this.#delayMs;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}

async function loadShedding(app: FastifyInstance, options: LoadSheddingOptions): Promise<void> {
  if (options.maxEventLoopDelayMs === 0) return;
  const monitor = new EventLoopDelay(options.sampleIntervalMs ?? 250);
  app.addHook('onClose', (_instance, done) => { monitor.stop(); done(); });
  const retryAfter = String(options.retryAfterSeconds);
  const max = options.maxEventLoopDelayMs;
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (monitor.delayMs <= max || request.routeOptions.config.loadShedding === false) {
      done();
      return;
    }
    reply.header('retry-after', retryAfter);
    done(httpError(503, 'load shed: event loop delay over the bound'));
  });
}

export default fp(loadShedding, { name: 'lpa-load-shedding', dependencies: ['lpa-security-headers'] });
