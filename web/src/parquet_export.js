// A result as a Parquet file, written in the browser (hyparquet-writer): the API returns rows as
// text, so each column is converted back by its type: integers of up to 64 bits as INT64,
// floating-point and decimal numbers as DOUBLE, booleans as BOOLEAN, everything else (text,
// dates, times, larger integers) as UTF-8 strings. NULL stays NULL.
import { parquetWriteBuffer } from 'hyparquet-writer';

const INT64 = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|INT\d*)$/i;
const DOUBLE = /^(FLOAT|DOUBLE|REAL|DECIMAL.*|NUMERIC.*)$/i;

export function parquetType(type) {
  if (INT64.test(type || '')) return 'INT64';
  if (DOUBLE.test(type || '')) return 'DOUBLE';
  if (/^BOOLEAN$/i.test(type || '')) return 'BOOLEAN';
  return 'STRING';
}

function convert(value, type) {
  if (value === null) return null;
  if (type === 'INT64') return BigInt(value);
  if (type === 'DOUBLE') return Number(value);
  if (type === 'BOOLEAN') return value === 'true';
  return value;
}

export function toParquet(result) {
  const columnData = result.columns.map((column, i) => {
    const type = parquetType(column.type);
    return { name: column.name, type, data: result.rows.map((row) => convert(row[i], type)) };
  });
  return parquetWriteBuffer({ columnData, createdBy: 'Parley console' });
}
