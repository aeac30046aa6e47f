/**
 * Load shedding (docs/adr/0023): while the event loop lags more than LOAD_SHED_EVENT_LOOP_DELAY_MS, requests are
 * answered at once with 503, Retry-After and the service's page, instead of joining a queue in which every request
 * slows down together until the edge times them out. What `@fastify/under-pressure` does for event-loop delay, in
 * the app's own error page and without its other probes.
 *
 * The lag is the mean delay of a 10 ms timer over the last sampling interval (perf_hooks' histogram, as
 * under-pressure measures it), from the moment the app is ready. One long pause does not shed; a loop that stays
 * behind does: requests are shed only while two successive readings are both over the bound.
 * A route opts out with `config: { loadShedding: false }`: /ping/elb, so that shedding never looks like ill health
 * to the load balancer (it would pull every instance at once).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ELDHistogram } from 'node:perf_hooks';
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
  /** Shed while the mean event-loop delay is above this at two successive readings; 0 turns shedding off. */
  readonly maxEventLoopDelayMs: number;
  readonly retryAfterSeconds: number;
  /** How often the delay is read (default 250 ms): how quickly shedding starts and stops. */
  readonly sampleIntervalMs?: number;
}

/** What the monitor reads: the 10 ms timer's delays, a clock in ms, and a repeating timer (tests pass their own). */
export interface LoopProbe {
  readonly histogram: Pick<ELDHistogram, 'count' | 'mean' | 'reset' | 'enable' | 'disable'>;
  now(): number;
  /** Calls `read` every `ms` until the returned function is called; must not keep the process alive. */
  every(ms: number, read: () => void): () => void;
}

function realProbe(): LoopProbe {
  return {
    histogram: monitorEventLoopDelay({ resolution: RESOLUTION_MS }),
    now: () => performance.now(),
    every: (ms, read) => {
      const timer = setInterval(read, ms).unref();
      return () => {
        clearInterval(timer);
      };
    },
  };
}

/** The event loop's recent delay, read every `intervalMs` once started. */
export class EventLoopDelay {
  readonly #intervalMs: number;
  readonly #probe: LoopProbe;
  #stop: (() => void) | undefined;
  #last = 0;
  #reading = 0;
  #delayMs = 0;

  constructor(intervalMs: number, probe: LoopProbe = realProbe()) {
    this.#intervalMs = intervalMs;
    this.#probe = probe;
  }

  /** Starts measuring from now: what ran before (start-up's compiling and loading) is not load. */
  start(): void {
    this.#probe.histogram.reset();
    this.#probe.histogram.enable();
    this.#last = this.#probe.now();
    this.#reading = 0;
    this.#delayMs = 0;
    this.#stop = this.#probe.every(this.#intervalMs, () => {
      this.#sample();
    });
  }

  #sample(): void {
    const now = this.#probe.now();
    const late = Math.max(0, now - this.#last - this.#intervalMs);
    this.#last = now;
    const { histogram } = this.#probe;
    // With no sample at all the loop was held throughout, and this timer's own lateness says how long.
    const reading = histogram.count === 0 ? late : Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS);
    histogram.reset();
    // One long pause (a GC, a sync read at start-up, a CPU-starved moment) can make up a whole reading, mean or not,
    // but only one: it is counted in the reading it ends in. A loop that stays behind raises every reading.
    this.#delayMs = Math.min(this.#reading, reading);
    this.#reading = reading;
  }

  /** Milliseconds the loop has stayed behind by: the lower of the last two readings. */
  get delayMs(): number {
    return this.#delayMs;
  }

  stop(): void {
    this.#stop?.();
    this.#probe.histogram.disable();
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
