// Usage and budgets (docs/usage.md): what the collaboration's queries scanned and cost, per payer,
// per member who ran them or per month (the metering routes: POST .../usage), the caller's own
// scan limits with what it used this month (PUT .../usage/limits), the tables' sizes, and the
// differential-privacy budget with what is left of it per month (GET .../budget).
import { useState } from 'preact/hooks';
import { get, post, put, collaborationPath } from '../api.js';
import { html, useLoad, Loaded, ErrorBox } from '../ui.js';

const BY = [['payer', 'payer'], ['member', 'member who ran them'], ['month', 'month']];

export function formatBytes(bytes) {
  if (bytes === undefined || bytes === null) return 'no limit';
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

function UsageTable({ report }) {
  const lines = [...report.lines, report.total];
  return html`<table class="grid" data-testid="usage" data-by=${report.by}>
    <caption>Usage by ${report.by}${report.month ? ` in ${report.month}` : ', every month'} at ${report.price_per_tb} per TB scanned</caption>
    <thead><tr><th scope="col">${report.by}</th><th scope="col">Queries</th><th scope="col">Rows scanned</th>
      <th scope="col">Bytes scanned</th><th scope="col">Result rows</th><th scope="col">Cost</th></tr></thead>
    <tbody>${lines.map((l, i) => html`<tr key=${`${i}-${l.key}`} data-key=${l.key}>
      <td>${i === lines.length - 1 ? html`<strong>total</strong>` : l.key}</td><td class="number">${l.queries}</td>
      <td class="number">${l.rows_scanned.toLocaleString('en-US')}</td>
      <td class="number" data-bytes=${l.bytes_scanned}>${formatBytes(l.bytes_scanned)}</td>
      <td class="number">${l.result_rows.toLocaleString('en-US')}</td><td class="number">${l.cost}</td></tr>`)}</tbody>
  </table>`;
}

function LimitsForm({ collaboration, report, onSaved }) {
  const [perQuery, setPerQuery] = useState(report.limits.per_query_bytes ?? '');
  const [monthly, setMonthly] = useState(report.limits.monthly_bytes ?? '');
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setSaved(false);
    try {
      const body = {};
      if (String(perQuery).trim() !== '') body.per_query_bytes = Number(perQuery);
      if (String(monthly).trim() !== '') body.monthly_bytes = Number(monthly);
      await put(collaborationPath(collaboration, 'usage', 'limits'), body);
      setSaved(true);
      onSaved();
    } catch (e) {
      setError(e);
    }
  };
  return html`<form class="card" onSubmit=${submit} aria-labelledby="limits-title">
    <h2 id="limits-title">Your scan limits</h2>
    <p data-testid="used-this-month">Queries you pay for scanned <strong>${formatBytes(report.used_this_month)}</strong>${' '}in ${report.current_month}; per query: ${formatBytes(report.limits.per_query_bytes)},
      per month: ${formatBytes(report.limits.monthly_bytes)}.</p>
    <label for="limit-query">Most bytes one query may scan (empty: no limit)</label>
    <input id="limit-query" inputmode="numeric" value=${perQuery} onInput=${(e) => setPerQuery(e.target.value)} />
    <label for="limit-month">Most bytes per month (empty: no limit)</label>
    <input id="limit-month" inputmode="numeric" value=${monthly} onInput=${(e) => setMonthly(e.target.value)} />
    <button type="submit" class="secondary">Save limits</button>
    ${saved && html`<span role="status" class="ok"> Saved.</span>`}
    <${ErrorBox} error=${error} />
  </form>`;
}

function PrivacyBudget({ budget }) {
  if (!budget.budget) {
    return html`<p data-testid="privacy-budget">This collaboration has no differential-privacy budget.</p>`;
  }
  const b = budget.budget;
  return html`<div data-testid="privacy-budget">
    <p>ε ${b.epsilon_per_month} and δ ${b.delta_per_month} per month; a query spends ε ${b.default_epsilon}
      unless its runner asks otherwise (at most ${b.max_epsilon}).</p>
    <table class="grid"><caption>Privacy budget per month</caption>
      <thead><tr><th scope="col">Month</th><th scope="col">ε spent</th><th scope="col">ε left</th>
        <th scope="col">δ spent</th><th scope="col">δ left</th><th scope="col">Queries</th></tr></thead>
      <tbody>${budget.periods.map((p) => html`<tr key=${p.period}><td>${p.period}</td><td>${p.epsilon_spent}</td>
        <td>${p.epsilon_left}</td><td>${p.delta_spent}</td><td>${p.delta_left}</td><td>${p.queries}</td></tr>`)}</tbody>
    </table></div>`;
}

export function UsagePage({ collaboration }) {
  const [by, setBy] = useState('payer');
  const [month, setMonth] = useState('');
  const [state, reload] = useLoad(async () => {
    const body = { by };
    if (month) body.month = month;
    const [report, budget] = await Promise.all([
      post(collaborationPath(collaboration, 'usage'), body),
      get(collaborationPath(collaboration, 'budget')),
    ]);
    return { report, budget };
  }, [collaboration, by, month]);
  return html`<section aria-labelledby="usage-title">
    <h1 id="usage-title">Usage and budgets</h1>
    <div class="row">
      <label>Group by <select data-testid="usage-by" value=${by} onChange=${(e) => setBy(e.target.value)}>
        ${BY.map(([value, label]) => html`<option key=${value} value=${value}>${label}</option>`)}</select></label>
      <label>Month (YYYY-MM, empty: every month) <input value=${month} pattern="\\d{4}-\\d{2}"
        onChange=${(e) => setMonth(e.target.value.trim())} /></label>
    </div>
    <${Loaded} state=${state} what="usage">${({ report, budget }) => html`
      <${UsageTable} report=${report} />
      <div class="columns">
        <${LimitsForm} key=${JSON.stringify(report.limits)} collaboration=${collaboration} report=${report} onSaved=${reload} />
        <section class="card" aria-labelledby="budget-title"><h2 id="budget-title">Privacy budget</h2>
          <${PrivacyBudget} budget=${budget} /></section>
      </div>
      <table class="grid" data-testid="table-sizes">
        <caption>Table sizes (what estimates use)</caption>
        <thead><tr><th scope="col">Table</th><th scope="col">Owner</th><th scope="col">Rows</th><th scope="col">Bytes</th></tr></thead>
        <tbody>${report.tables.map((t) => html`<tr key=${t.table}><td>${t.table}</td><td>${t.owner}</td>
          <td class="number">${t.rows === undefined ? 'unknown' : t.rows.toLocaleString('en-US')}</td>
          <td class="number">${formatBytes(t.bytes)}</td></tr>`)}</tbody>
      </table>`}<//>
  </section>`;
}
