/**
 * Loads the tracing module (tracing.ts) only when OTEL_ENABLED is true, so with tracing off the OpenTelemetry SDK is
 * never imported (docs/adr/0026). A module of its own, not part of trace-context.ts (which tracing.ts builds on), so
 * that no two modules import each other.
 */
import type { Tracing, TracingConfig, TracingLogger } from './trace-context.ts';

/** The tracing module when OTEL_ENABLED is true, else undefined: with tracing off it costs no memory and no time. */
export async function loadTracing(config: TracingConfig, logger: TracingLogger): Promise<Tracing | undefined> {
  if (!config.otelEnabled) return undefined;
  const { createTracing } = await import('./tracing.ts');
  return createTracing(config, logger);
}
