/**
 * Load shedding (docs/adr/0023): while the event loop lags more than LOAD_SHED_EVENT_LOOP_DELAY_MS, requests are
 * answered at once with 503, Retry-After and the service's page, instead of joining a queue in which every request
 * slows down together until the edge times them out. What `@fastify/under-pressure` does for event-loop delay, in
 * the app's own error page and without its other probes.
 *
 * The lag is the mean delay of a 10 ms timer over the last sampling interval (perf_hooks' histogram, as
 * under-pressure measures it), from the moment the app is ready. One long pause does not shed; a loop that stays
 * behind does.
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

/** The event loop's recent delay, read every `intervalMs` once started. */
export class EventLoopDelay {
  readonly #histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #last = 0;
  #delayMs = 0;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Starts measuring from now: what ran before (start-up's compiling and loading) is not load. */
  start(): void {
    this.#histogram.reset();
    this.#histogram.enable();
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      this.#sample();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    const now = performance.now();
    const late = Math.max(0, now - this.#last - this.#intervalMs);
    this.#last = now;
    // The mean, not the worst: one long pause (a GC, a burst of start-up work) is not overload; a loop that stays
    // behind is. With no sample at all the loop was held throughout, and this timer's own lateness says how long.
    this.#delayMs = this.#histogram.count === 0 ? late : Math.max(0, this.#histogram.mean / 1e6 - RESOLUTION_MS);
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
  app.addHook('onReady', (done) => {
    monitor.start();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    monitor.stop();
    done();
  });
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
