// Turns the raw runs of run.mjs into medians, ratios and target checks, and
// renders them as a console table, a Markdown section and an SVG bar chart.
import { median, spread } from './stats.mjs';

const MiB = 1024 * 1024;

/** The metrics shown, in table order. `better` says which direction wins. */
export const METRICS = [
  { key: 'produceRps', phase: 'produce', title: 'produce rec/s', better: 'higher', of: (r) => (r.records / r.ms) * 1000 },
  { key: 'produceMBps', phase: 'produce', title: 'produce MB/s', better: 'higher', of: (r) => r.bytes / MiB / (r.ms / 1000) },
  { key: 'consumeRps', phase: 'consume', title: 'consume rec/s', better: 'higher', of: (r) => (r.records / r.ms) * 1000 },
  { key: 'consumeMBps', phase: 'consume', title: 'consume MB/s', better: 'higher', of: (r) => r.bytes / MiB / (r.ms / 1000) },
  // CPU time of the whole client process (all threads, user + system) per record in the timed window:
  // less sensitive to a noisy machine than the rates. Not available for the Java tools.
  { key: 'produceCpu', phase: 'produce', title: 'produce CPU µs/rec', better: 'lower', of: (r) => (r.cpuUs === undefined ? NaN : r.cpuUs / r.records), extra: true },
  { key: 'consumeCpu', phase: 'consume', title: 'consume CPU µs/rec', better: 'lower', of: (r) => (r.cpuUs === undefined ? NaN : r.cpuUs / r.records), extra: true },
  { key: 'e2eP50', phase: 'e2e', title: 'e2e p50 ms', better: 'lower', of: (r) => r.p50 },
  { key: 'e2eP99', phase: 'e2e', title: 'e2e p99 ms', better: 'lower', of: (r) => r.p99 },
  { key: 'sendP50', phase: 'single', title: 'send p50 ms', better: 'lower', of: (r) => r.p50 },
  { key: 'sendP99', phase: 'single', title: 'send p99 ms', better: 'lower', of: (r) => r.p99 },
];

const TRIBUTARY = 'tributary';
const RAW_CKJS = 'ckjs-cb';

/**
 * Medians over the measured (non-warm-up) repetitions.
 * @returns {{ sizes: number[], clients: object[], cells: Map<string, {median:number, spread:number, values:number[]}>, errors: object[] }}
 */
export function aggregate(data) {
  const cells = new Map();
  const errors = [];
  for (const size of data.meta.sizes) {
    for (const client of data.clients) {
      for (const m of METRICS) {
        const values = data.runs
          .filter((r) => !r.warmup && r.size === size && r.client === client.id && r.phase === m.phase && r.result)
          .map((r) => m.of(r.result));
        if (values.length) cells.set(cellKey(client.id, size, m.key), { median: median(values), spread: spread(values), values });
      }
    }
  }
  for (const r of data.runs) if (r.error) errors.push(r);
  return { sizes: data.meta.sizes, clients: data.clients, cells, errors };
}

export const cellKey = (client, size, metric) => `${client}|${size}|${metric}`;

function cell(summary, client, size, metric) {
  return summary.cells.get(cellKey(client, size, metric))?.median ?? NaN;
}

/** Best Node peer (not Tributary, not Java) for a metric: { id, value }. */
export function bestNodePeer(summary, size, metric) {
  const m = METRICS.find((x) => x.key === metric);
  let best;
  for (const c of summary.clients) {
    if (c.family !== 'node') continue;
    const v = cell(summary, c.id, size, metric);
    if (!Number.isFinite(v)) continue;
    if (!best || (m.better === 'higher' ? v > best.value : v < best.value)) best = { id: c.id, value: v };
  }
  return best;
}

/**
 * Tributary ÷ reference, oriented so that ≥ 1 means "Tributary is at least as
 * good": throughput as is; latency inverted (reference ÷ Tributary).
 */
export function ratio(summary, size, metric, refValue) {
  const m = METRICS.find((x) => x.key === metric);
  const t = cell(summary, TRIBUTARY, size, metric);
  if (!Number.isFinite(t) || !Number.isFinite(refValue) || refValue === 0 || t === 0) return NaN;
  return m.better === 'higher' ? t / refValue : refValue / t;
}

/** The issue's targets, evaluated on the medians. */
export function targets(summary) {
  const out = [];
  if (!summary.clients.some((c) => c.id === TRIBUTARY)) return out;
  for (const size of summary.sizes) {
    for (const [metric, what] of [
      ['produceRps', 'batched produce'],
      ['consumeRps', 'consume'],
    ]) {
      const best = bestNodePeer(summary, size, metric);
      if (best) {
        const r = ratio(summary, size, metric, best.value);
        out.push({ size, what, target: `≥ 1.0× best Node client (${labelOf(summary, best.id)})`, value: r, unit: '×', met: r >= 1.0 });
      }
      const raw = cell(summary, RAW_CKJS, size, metric);
      if (Number.isFinite(raw)) {
        const r = ratio(summary, size, metric, raw);
        out.push({ size, what, target: '≥ 0.9× raw ckjs (callback API)', value: r, unit: '×', met: r >= 0.9 });
      }
    }
  }
  for (const size of summary.sizes) {
    const p50 = cell(summary, TRIBUTARY, size, 'sendP50');
    if (Number.isFinite(p50)) out.push({ size, what: 'awaited single-record send', target: 'p50 ≤ 2 ms', value: p50, unit: 'ms', met: p50 <= 2 });
  }
  return out;
}

function labelOf(summary, id) {
  return summary.clients.find((c) => c.id === id)?.label ?? id;
}

export function sizeLabel(size) {
  return size >= 1024 && size % 1024 === 0 ? `${size / 1024} KiB` : `${size} B`;
}

function fmt(metric, v) {
  if (!Number.isFinite(v)) return '–';
  if (metric.endsWith('Rps')) return Math.round(v).toLocaleString('en-US');
  if (metric.endsWith('MBps')) return v.toFixed(1);
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '–');
const fmtSpread = (s) => (Number.isFinite(s) ? `±${Math.round((s * 100) / 2)}%` : '');

const MAIN = METRICS.filter((m) => !m.extra);
const EXTRA = METRICS.filter((m) => m.extra);

/** Rows of one size: one per client, medians (with half the min–max spread when asked). */
function tableRows(summary, size, { withSpread, metrics = MAIN }) {
  return summary.clients.map((c) => [
    c.label,
    ...metrics.map((m) => {
      const x = summary.cells.get(cellKey(c.id, size, m.key));
      if (!x) return '–';
      return withSpread && x.values.length > 1 ? `${fmt(m.key, x.median)} ${fmtSpread(x.spread)}` : fmt(m.key, x.median);
    }),
  ]);
}

function ratioRows(summary, size, metrics = MAIN) {
  if (!summary.clients.some((c) => c.id === TRIBUTARY)) return [];
  const rows = [];
  const best = ['Tributary ÷ best Node peer'];
  const bestWho = ['  (best Node peer)'];
  const raw = ['Tributary ÷ raw ckjs (callback)'];
  const java = ['Tributary ÷ Java perf tool'];
  for (const m of metrics) {
    const b = bestNodePeer(summary, size, m.key);
    best.push(b ? fmtRatio(ratio(summary, size, m.key, b.value)) : '–');
    bestWho.push(b ? b.id : '–');
    raw.push(fmtRatio(ratio(summary, size, m.key, cell(summary, RAW_CKJS, size, m.key))));
    java.push(fmtRatio(ratio(summary, size, m.key, cell(summary, 'java', size, m.key))));
  }
  rows.push(best, bestWho, raw);
  if (summary.clients.some((c) => c.id === 'java')) rows.push(java);
  return rows;
}

function textTable(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Console report. */
function overridesText(meta) {
  const o = meta.overrides ?? {};
  const parts = [];
  if (o.rdkafkaProducer) parts.push(`librdkafka producer ${JSON.stringify(o.rdkafkaProducer)}`);
  if (o.rdkafkaConsumer) parts.push(`librdkafka consumer ${JSON.stringify(o.rdkafkaConsumer)}`);
  if (o.tributary) parts.push(`Tributary kafka() config ${JSON.stringify(o.tributary)}`);
  return parts.length ? `EXPERIMENT, not the stock settings: ${parts.join('; ')}` : '';
}

export function formatConsole(summary, meta) {
  const out = [];
  if (overridesText(meta)) out.push(`\n${overridesText(meta)}`);
  const header = ['client', ...MAIN.map((m) => m.title)];
  for (const size of summary.sizes) {
    out.push(`\n${sizeLabel(size)} records — medians of ${meta.reps} rep(s), warm-up rep(s) excluded (± = half the min–max spread)`);
    out.push(textTable(header, tableRows(summary, size, { withSpread: true })));
    const rr = ratioRows(summary, size);
    if (rr.length) {
      out.push('\nratios (≥ 1 = Tributary as good or better; latency ratios are reference ÷ Tributary)');
      out.push(textTable(['', ...MAIN.map((m) => m.title)], rr));
    }
    out.push(`\nCPU per record in the timed window (whole client process, all threads; lower is better)`);
    const nodeClients = { ...summary, clients: summary.clients.filter((c) => c.family !== 'java') };
    out.push(textTable(['client', ...EXTRA.map((m) => m.title)], tableRows(nodeClients, size, { withSpread: true, metrics: EXTRA })));
    const cr = ratioRows(nodeClients, size, EXTRA);
    if (cr.length) out.push(textTable(['', ...EXTRA.map((m) => m.title)], cr));
  }
  const t = targets(summary);
  if (t.length) {
    out.push('\ntargets');
    for (const x of t) {
      out.push(`  ${x.met ? 'MET   ' : 'MISSED'}  ${sizeLabel(x.size).padEnd(6)} ${x.what}: ${x.unit === '×' ? fmtRatio(x.value) : `${fmt('ms', x.value)} ms`}  (target ${x.target})`);
    }
  }
  if (summary.errors.length) {
    out.push('\nfailed phases');
    for (const e of summary.errors) out.push(`  rep ${e.rep} ${e.client} ${sizeLabel(e.size)} ${e.phase}: ${String(e.error).split('\n')[0]}`);
  }
  return out.join('\n');
}

/** `leftColumns`: how many leading columns are text (left-aligned); the rest are numbers. */
function mdTable(header, rows, { leftColumns = 1 } = {}) {
  const esc = (v) => String(v).replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (i < leftColumns ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** The generated part of docs/benchmarks.md. */
export function formatMarkdown(summary, data, { chartFile }) {
  const { meta } = data;
  const out = [];
  out.push(`Run ${meta.startedAt} → ${meta.finishedAt} (${Math.round(meta.durationMs / 1000)} s).`);
  if (overridesText(meta)) out.push('', `**${overridesText(meta)}**`);
  out.push('');
  out.push('Reproduce:');
  out.push('');
  out.push('```sh');
  out.push(meta.command);
  out.push('```');
  out.push('');
  out.push('### Machine');
  out.push('');
  out.push(mdTable(['', ''], Object.entries(meta.machine), { leftColumns: 2 }));
  out.push('');
  out.push('### Clients');
  out.push('');
  out.push(mdTable(['client', 'version', 'how it is driven'], data.clients.map((c) => [c.label, c.version, c.notes]), { leftColumns: 3 }));
  out.push('');
  out.push(`### Results (medians of ${meta.reps} repetitions; ± is half the min–max spread)`);
  out.push('');
  out.push(
    `Timed records per repetition: ${meta.recordsBySize.map(([s, n]) => `${n.toLocaleString('en-US')} at ${sizeLabel(s)}`).join(', ')} ` +
      `(each phase process first sends or reads ${meta.warmFraction * 100}% more as its own warm-up). ` +
      `e2e: ${meta.e2eRate} records/s for ${meta.e2eMs / 1000} s after ${meta.e2eWarmMs / 1000} s of warm-up. ` +
      `Awaited single-record send: ${meta.singleSends} sends after ${meta.singleWarm}. ` +
      `Topics: ${meta.partitions} partition${meta.partitions === 1 ? '' : 's'}, replication factor 1, fresh per client, size and repetition.`,
  );
  const header = ['client', ...MAIN.map((m) => m.title)];
  for (const size of summary.sizes) {
    out.push('');
    out.push(`#### ${sizeLabel(size)} records`);
    out.push('');
    out.push(mdTable(header, tableRows(summary, size, { withSpread: true })));
    const rr = ratioRows(summary, size);
    if (rr.length) {
      out.push('');
      out.push(`Ratios for ${sizeLabel(size)} (≥ 1 = Tributary as good or better; for latency the ratio is reference ÷ Tributary):`);
      out.push('');
      out.push(mdTable(['', ...MAIN.map((m) => m.title)], rr));
    }
    const nodeClients = { ...summary, clients: summary.clients.filter((c) => c.family !== 'java') };
    out.push('');
    out.push(`CPU per record for ${sizeLabel(size)}, timed window, whole client process (all threads, user + system; lower is better):`);
    out.push('');
    out.push(
      mdTable(
        ['client', ...EXTRA.map((m) => m.title)],
        [...tableRows(nodeClients, size, { withSpread: true, metrics: EXTRA }), ...ratioRows(nodeClients, size, EXTRA)],
      ),
    );
  }
  const t = targets(summary);
  if (t.length) {
    out.push('');
    out.push('### Targets');
    out.push('');
    out.push(
      mdTable(
        ['size', 'what', 'target', 'measured', ''],
        t.map((x) => [sizeLabel(x.size), x.what, x.target, x.unit === '×' ? fmtRatio(x.value) : `${fmt('ms', x.value)} ms`, x.met ? '✅ met' : '❌ missed']),
        { leftColumns: 3 },
      ),
    );
  }
  if (summary.errors.length) {
    out.push('');
    out.push('### Failed phases');
    out.push('');
    for (const e of summary.errors) out.push(`- rep ${e.rep}, ${e.client}, ${sizeLabel(e.size)}, ${e.phase}: \`${String(e.error).split('\n')[0]}\``);
  }
  out.push('');
  out.push(`![Kafka client benchmark](${chartFile})`);
  return out.join('\n');
}

const COLORS = { produceRps: '#4c78a8', consumeRps: '#f58518', e2eP50: '#54a24b', e2eP99: '#b79a20', sendP50: '#e45756' };

function escXml(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function compact(metric, v) {
  if (!Number.isFinite(v)) return 'n/a';
  if (metric.endsWith('Rps')) return v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${Math.round(v / 1000)}k`;
  return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
}

/** Horizontal grouped bar chart: per size, throughput (rec/s) and latency (ms) panels. */
export function svgChart(summary, meta) {
  const W = 980;
  const labelW = 210;
  const barH = 11;
  const panelGap = 28;
  const panels = [];
  for (const size of summary.sizes) {
    panels.push({ title: `${sizeLabel(size)} records — throughput, records/s (higher is better)`, size, metrics: ['produceRps', 'consumeRps'] });
  }
  for (const size of summary.sizes) {
    panels.push({ title: `${sizeLabel(size)} records — latency, ms (lower is better)`, size, metrics: ['e2eP50', 'e2eP99', 'sendP50'] });
  }
  const names = { produceRps: 'produce', consumeRps: 'consume', e2eP50: 'e2e p50', e2eP99: 'e2e p99', sendP50: 'awaited send p50' };
  const parts = [];
  let y = 40;
  parts.push(`<text x="12" y="24" font-size="16" font-weight="bold">Tributary vs Node Kafka clients — ${escXml(meta.startedAt.slice(0, 10))}, single local broker, medians of ${meta.reps} reps</text>`);
  for (const p of panels) {
    const clients = summary.clients.filter((c) => p.metrics.some((m) => Number.isFinite(cell(summary, c.id, p.size, m))));
    if (clients.length === 0) continue;
    const max = Math.max(...clients.flatMap((c) => p.metrics.map((m) => cell(summary, c.id, p.size, m))).filter(Number.isFinite));
    const plotW = W - labelW - 90;
    parts.push(`<text x="12" y="${y + 14}" font-size="13" font-weight="bold">${escXml(p.title)}</text>`);
    // legend
    let lx = W - 12;
    for (const m of [...p.metrics].reverse()) {
      const text = names[m];
      lx -= text.length * 6.5 + 22;
      parts.push(`<rect x="${lx}" y="${y + 4}" width="12" height="12" fill="${COLORS[m]}"/><text x="${lx + 16}" y="${y + 14}" font-size="11">${escXml(text)}</text>`);
    }
    y += 24;
    for (const c of clients) {
      const groupH = p.metrics.length * (barH + 2) + 8;
      const bold = c.id === TRIBUTARY ? ' font-weight="bold"' : '';
      parts.push(`<text x="${labelW - 8}" y="${y + groupH / 2 + 2}" font-size="12" text-anchor="end"${bold}>${escXml(c.label)}</text>`);
      p.metrics.forEach((m, i) => {
        const v = cell(summary, c.id, p.size, m);
        const by = y + i * (barH + 2);
        const w = Number.isFinite(v) && max > 0 ? Math.max(1, (v / max) * plotW) : 0;
        if (w > 0) parts.push(`<rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[m]}"/>`);
        parts.push(`<text x="${labelW + w + 4}" y="${by + barH - 1}" font-size="10">${escXml(compact(m, v))}</text>`);
      });
      y += groupH;
    }
    y += panelGap;
  }
  const H = y;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
${parts.join('\n')}
</svg>
`;
}
