#include "api/result_files.h"

#include "engine/result_writer.h"

namespace parley::api {
namespace {

engine::ResultTable ToEngine(const Result& result) {
  engine::ResultTable table;
  for (const ResultColumn& column : result.columns) {
    table.columns.push_back({column.name, column.type});
  }
  table.rows = result.rows;
  return table;
}

}  // namespace

absl::StatusOr<OutputFormat> OutputFormatFromPath(const std::string& path) {
  PARLEY_ASSIGN_OR_RETURN(engine::OutputFormat format, engine::OutputFormatFromPath(path));
  switch (format) {
    case engine::OutputFormat::kCsv:
      return OutputFormat::kCsv;
    case engine::OutputFormat::kJson:
      return OutputFormat::kJson;
    case engine::OutputFormat::kParquet:
      return OutputFormat::kParquet;
  }
  return absl::InternalError("unknown output format");
}

absl::Status WriteResultFile(const Result& result, const std::string& path, OutputFormat format) {
  engine::OutputFormat converted = engine::OutputFormat::kCsv;
  switch (format) {
    case OutputFormat::kCsv:
      converted = engine::OutputFormat::kCsv;
      break;
    case OutputFormat::kJson:
      converted = engine::OutputFormat::kJson;
      break;
    case OutputFormat::kParquet:
      converted = engine::OutputFormat::kParquet;
      break;
  }
  return engine::WriteResult(ToEngine(result), path, converted);
}

std::string FormatResultTable(const Result& result) {
  return engine::FormatTable(ToEngine(result));
}

}  // namespace parley::api
