// A rule (docs/rules.md) in words a member reads before asking: what may be asked, joined on
// what, grouped by what, and the thresholds every answer must meet.

const list = (items) => (items && items.length ? items.join(', ') : 'none');

export function summarizeRule(rule) {
  if (!rule) return ['No rule yet: nothing may be asked of this table until its owner sets one.'];
  const lines = [];
  if (rule.kind === 'aggregation') {
    lines.push('Aggregation rule: only aggregate answers over groups, never rows.');
    for (const entry of rule.aggregate_columns || []) {
      lines.push(`May compute ${list(entry.functions)} of ${list(entry.columns)}.`);
    }
    if (rule.dimension_columns) lines.push(`May group by ${list(rule.dimension_columns)}.`);
    if (rule.join_columns) {
      lines.push(`May be joined on ${list(rule.join_columns)}` +
        (rule.join_required === 'query_runner' ? ', and must be joined with the runner\'s own table.' : '.'));
    }
    if (rule.scalar_functions) lines.push(`Functions allowed: ${list(rule.scalar_functions)}.`);
    for (const c of rule.output_constraints || []) {
      lines.push(`Every group needs at least ${c.minimum} distinct ${c.column} (smaller groups are suppressed).`);
    }
    if (rule.differential_privacy) lines.push('Answers carry differential-privacy noise.');
  } else if (rule.kind === 'list') {
    lines.push('List rule: rows of the overlap may be listed, never aggregated.');
    lines.push(`Must be joined on ${list(rule.join_columns)}.`);
    if (rule.list_columns) lines.push(`Columns that may be listed: ${list(rule.list_columns)}.`);
  } else if (rule.kind === 'custom') {
    lines.push('Custom rule: only analyses its owner approved may run.');
    if (rule.any_query) lines.push('Any query is allowed for the listed analysis providers.');
    if (rule.allowed_analysis_providers) lines.push(`Analysis providers: ${list(rule.allowed_analysis_providers)}.`);
    if (rule.allowed_result_receivers) lines.push(`Result receivers: ${list(rule.allowed_result_receivers)}.`);
    if (rule.disallowed_output_columns) lines.push(`Never output: ${list(rule.disallowed_output_columns)}.`);
    for (const c of rule.output_constraints || []) {
      lines.push(`Every group needs at least ${c.minimum} distinct ${c.column}.`);
    }
  } else {
    lines.push(`Rule of kind ${rule.kind}.`);
  }
  return lines;
}
