// The analysis builder's SQL: tables (the first, optionally joined to a second on one column of
// each), dimensions and measures become one GROUP BY query. Names are quoted only when they need
// it, so the SQL reads as a person would write it and can be edited afterwards.

const SIMPLE = /^[a-z_][a-z0-9_]*$/;
export const quoteName = (name) => (SIMPLE.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

export const MEASURE_FUNCTIONS = ['COUNT_DISTINCT', 'COUNT', 'SUM', 'AVG', 'MIN', 'MAX'];

// spec: {tables: [{name, alias}], join: {left, right} | null, dimensions: [{alias, column}],
//        measures: [{fn, alias, column}]}
export function builderSql(spec) {
  const { tables, join, dimensions, measures } = spec;
  if (!tables.length) return '';
  const ref = (alias, column) => `${alias}.${quoteName(column)}`;
  const select = [];
  for (const d of dimensions) select.push(ref(d.alias, d.column));
  for (const m of measures) {
    const name = `${m.fn === 'COUNT_DISTINCT' ? 'distinct' : m.fn.toLowerCase()}_${m.column}`;
    const expression = m.fn === 'COUNT_DISTINCT'
      ? `COUNT(DISTINCT ${ref(m.alias, m.column)})`
      : `${m.fn}(${ref(m.alias, m.column)})`;
    select.push(`${expression} AS ${quoteName(name.toLowerCase())}`);
  }
  if (!select.length) select.push('COUNT(*) AS rows');
  let from = `${quoteName(tables[0].name)} ${tables[0].alias}`;
  if (tables.length > 1 && join) {
    from += `\nJOIN ${quoteName(tables[1].name)} ${tables[1].alias}` +
      ` ON ${ref(tables[0].alias, join.left)} = ${ref(tables[1].alias, join.right)}`;
  }
  let sql = `SELECT ${select.join(', ')}\nFROM ${from}`;
  if (dimensions.length) {
    const keys = dimensions.map((d) => ref(d.alias, d.column)).join(', ');
    sql += `\nGROUP BY ${keys}\nORDER BY ${keys}`;
  }
  return sql;
}
