/**
 * Responses are written together at the end of each turn of the event loop, not one by one as each is made
 * (docs/adr/0015).
 *
 * Node handles every request that arrived together in one poll phase; writing each response as soon as it is made
 * wakes the reader (nginx, or the load generator) once per response, and on a shared host the kernel charges each
 * wake-up to the writer. Deferring the write to `setImmediate`, which runs when the poll phase is over, sends the
 * turn's responses back to back, so the reader wakes once for all of them. It is the same idea as Netty's
 * FlushConsolidationHandler. A response that is alone in its turn waits only for the hop itself.
 *
 * Nothing about a response changes: its headers and body are final when `onSend` runs, and every other hook has
 * already run or runs after this one, as before.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

type OnSendDone = (err: Error | null, payload?: unknown) => void;

/** The `onSend` hook: hands the payload back to Fastify, to be written, once the current poll phase is over. */
export function writeAtEndOfTurn(
  _request: FastifyRequest,
  _reply: FastifyReply,
  payload: unknown,
  done: OnSendDone,
): void {
  setImmediate(done, null, payload);
}

async function writeBatching(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', writeAtEndOfTurn);
}

export default fp(writeBatching, { name: 'lpa-write-batching' });
