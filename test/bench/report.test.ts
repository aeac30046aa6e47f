// The bench's arithmetic: the ratio is the median of the round pairs, p99 the median round, and the table says so.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunResult, ScenarioResult, Side } from '../../bench/report.ts';
import { markdown, quantile, ratio, ratioSpread, svg, verdict } from '../../bench/report.ts';

const side = (rps: number, p99: number, p99Worst = p99): Side => ({ rps, p50: 1, p99, p99Worst, errors: 0, requests: rps * 10, statuses: { 200: rps * 10 } });

const scenario = (over: Partial<ScenarioResult> = {}): ScenarioResult => ({
  name: 'static', title: '/ (static page)', reference: 'static', target: 0.6,
  app: side(25_000, 8, 40), ceiling: side(40_000, 5), pairRatios: [0.2, 0.61, 0.62, 0.63, 0.9], ...over,
});

describe('bench report', () => {
  test('quantile picks by nearest rank from sorted values', () => {
    assert.equal(quantile([5, 1, 3], 0.5), 3);
    assert.equal(quantile([4, 1, 3, 2], 0.25), 2);
    assert.equal(quantile([4, 1, 3, 2], 1), 4);
    assert.equal(quantile([], 0.5), 0);
  });

  test('the ratio is the median pair, not moved by one disturbed pair', () => {
    assert.equal(ratio(scenario()), 0.62);
    assert.equal(ratioSpread(scenario()), '0.61–0.63');
    assert.equal(ratio(scenario({ pairRatios: [] })), 25_000 / 40_000, 'without pairs: the totals');
    assert.equal(ratio(scenario({ app: undefined })), undefined);
  });

  test('the verdict checks the ratio target, the median p99 and the tenfold reference', () => {
    assert.deepEqual(verdict(scenario()), { ok: true, why: 'ok' });
    assert.match(verdict(scenario({ pairRatios: [0.5, 0.55, 0.59] })).why, /ratio 0\.55 < 0\.6/);
    assert.match(verdict(scenario({ app: side(25_000, 12) })).why, /p99 12\.0 ms >= 10/);
    assert.match(verdict(scenario({ app: side(15_000, 8) })).why, /< 10x reference/);
  });

  test('the table shows the spread and the worst round', () => {
    const run: RunResult = {
      startedAt: 'now', machine: 'm', tool: 'wrk', connections: 50, rounds: 5, seconds: 2, workers: 1,
      serverCpus: '0', clientCpus: '1', store: 'redis', peakRssBytes: 1 << 20, scenarios: [scenario()], notes: [],
    };
    const md = markdown(run);
    assert.match(md, /\| \/ \(static page\) \| 25,000 \| 1\.00 \| 8\.00 \(40\.00\) \| 0 \| 40,000 \| 5\.00 \| 0\.62 \| 0\.61–0\.63 \| ≥ 0\.6 \| yes \(13×\) \| ok \|/);
    assert.match(svg(run), /^<svg[\s\S]*25,000 \(0\.62\)[\s\S]*<\/svg>\n?$/);
  });
});
