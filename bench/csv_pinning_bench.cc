// Pinned CSV options (issue 10, docs/sources.md): what a query over a CSV table costs with the
// options and types pinned at registration (read_csv with auto_detect=false and the pinned
// columns) against the unpinned read every query made before (DuckDB sniffing the dialect and
// detecting the types on each read). Each run does what the engine does per query: open a
// locked-down session with the table's view, check the view against the pinned schema (DESCRIBE),
// and run an aggregate over every row.
//
//   csv_pinning_bench --rows 10000000 --runs 5 [--dir DIR]
//
// Prints `csv_pinning_<rows>_sniffed_ms`, `..._pinned_ms` (medians) and `..._ratio`.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/files/file_source.h"
#include "connectors/files/files_connector.h"
#include "connectors/files/pinned_source.h"
#include "engine/duckdb/session.h"

namespace fs = std::filesystem;
using namespace parley;

namespace {

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// A semicolon-separated export with day-first dates and NULL markers, as the corpus's.
void WriteCsv(const fs::path& path, int64_t rows) {
  std::ofstream out(path);
  out << "id;region;amount;day\n";
  const char* regions[] = {"north", "south", "east", "west"};
  for (int64_t i = 0; i < rows; ++i) {
    out << i << ';' << regions[i % 4] << ';';
    if (i % 97 == 0) {
      out << "NULL";
    } else {
      out << (i * 7919) % 100000;
    }
    out << ';' << (1 + i % 28) << '/' << (1 + i % 12) << "/2024\n";
  }
}

double RunOnce(const catalog::Table& table, const engine::SourceView& view) {
  auto start = std::chrono::steady_clock::now();
  auto session = engine::duckdb::Session::Open({view}, {});
  if (!session.ok()) {
    std::cerr << session.status() << "\n";
    std::exit(1);
  }
  absl::Status checked = connectors::CheckPinnedSchema(**session, table);
  if (!checked.ok()) {
    std::cerr << checked << "\n";
    std::exit(1);
  }
  auto result = (*session)->Run(
      "SELECT region, count(*), sum(amount), max(day) FROM t GROUP BY region ORDER BY region");
  if (!result.ok()) {
    std::cerr << result.status() << "\n";
    std::exit(1);
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 10'000'000;
  int runs = 5;
  fs::path dir = fs::temp_directory_path() / "parley_csv_pinning_bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rows") rows = std::atoll(argv[i + 1]);
    if (flag == "--runs") runs = std::atoi(argv[i + 1]);
    if (flag == "--dir") dir = argv[i + 1];
  }
  fs::create_directories(dir);
  fs::path csv = dir / ("export_" + std::to_string(rows) + ".csv");
  if (!fs::exists(csv)) WriteCsv(csv, rows);

  connectors::files::FilesConnector connector;
  auto valid = connector.Validate(R"({"path":")" + csv.string() + R"("})");
  auto pin_start = std::chrono::steady_clock::now();
  auto pinned = connector.Pin(*valid);
  double pin_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - pin_start)
          .count();
  if (!pinned.ok()) {
    std::cerr << pinned.status() << "\n";
    return 1;
  }
  // The rest of a registration (service::PrepareTable and AddTable): the schema of the pinned
  // description, and the size metering records.
  auto rest_start = std::chrono::steady_clock::now();
  auto inferred = connector.InferSchema(*pinned);
  if (!inferred.ok()) {
    std::cerr << inferred.status() << "\n";
    return 1;
  }
  auto measured = connector.Measure(*pinned, {csv.string()});
  if (!measured.ok()) {
    std::cerr << measured.status() << "\n";
    return 1;
  }
  double register_ms = pin_ms + std::chrono::duration<double, std::milli>(
                                    std::chrono::steady_clock::now() - rest_start)
                                    .count();
  auto description = connectors::files::ParseDescription(*pinned);
  catalog::Table table;
  table.name = "t";
  table.source_kind = "files";
  table.source_schema = description->options.columns;
  for (const catalog::Column& column : table.source_schema) {
    table.allowed_columns.push_back(column.name);
  }
  std::vector<std::string> files = {csv.string()};
  // Unpinned: the description before pinning, read as every query read it before (dialect given
  // as it was then: sniffed here, since the fixed comma would not read this export at all).
  connectors::files::FileDescription sniffed{connectors::files::Format::kCsv, csv.string(), {}};
  engine::SourceView sniffed_view = connectors::files::ViewFor(table, sniffed, files);
  for (const char* fixed : {", delim=','", ", quote='\"', escape='\"'"}) {
    size_t at = sniffed_view.select_sql.find(fixed);
    if (at != std::string::npos) sniffed_view.select_sql.erase(at, std::string(fixed).size());
  }
  size_t at = sniffed_view.select_sql.find("auto_detect=true");
  sniffed_view.select_sql.insert(at, "nullstr=['', 'NULL', '\\N'], ");
  engine::SourceView pinned_view = connectors::files::ViewFor(table, *description, files);

  std::vector<double> sniffed_ms, pinned_ms;
  RunOnce(table, sniffed_view);  // warm-up (page cache)
  RunOnce(table, pinned_view);
  for (int run = 0; run < runs; ++run) {
    sniffed_ms.push_back(RunOnce(table, sniffed_view));
    pinned_ms.push_back(RunOnce(table, pinned_view));
  }
  std::string name = "csv_pinning_" + std::to_string(rows);
  std::cout << name << "_pin_once_ms " << pin_ms << "\n";
  std::cout << name << "_register_ms " << register_ms << "\n";
  std::cout << name << "_sniffed_ms " << Median(sniffed_ms) << "\n";
  std::cout << name << "_pinned_ms " << Median(pinned_ms) << "\n";
  std::cout << name << "_ratio " << Median(sniffed_ms) / Median(pinned_ms) << "\n";
  return 0;
}
