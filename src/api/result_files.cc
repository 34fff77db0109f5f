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

OutputFormat FromEngine(engine::OutputFormat format) {
  switch (format) {
    case engine::OutputFormat::kCsv:
      return OutputFormat::kCsv;
    case engine::OutputFormat::kJson:
      return OutputFormat::kJson;
    case engine::OutputFormat::kParquet:
      return OutputFormat::kParquet;
  }
  return OutputFormat::kCsv;
}

engine::OutputFormat ToEngine(OutputFormat format) {
  switch (format) {
    case OutputFormat::kCsv:
      return engine::OutputFormat::kCsv;
    case OutputFormat::kJson:
      return engine::OutputFormat::kJson;
    case OutputFormat::kParquet:
      return engine::OutputFormat::kParquet;
  }
  return engine::OutputFormat::kCsv;
}

}  // namespace

absl::StatusOr<OutputFormat> OutputFormatFromPath(const std::string& path) {
  PARLEY_ASSIGN_OR_RETURN(engine::OutputFormat format, engine::OutputFormatFromPath(path));
  return FromEngine(format);
}

absl::StatusOr<OutputFormat> OutputFormatFromName(const std::string& name) {
  PARLEY_ASSIGN_OR_RETURN(engine::OutputFormat format, engine::OutputFormatFromName(name));
  return FromEngine(format);
}

absl::Status CheckDestination(const std::string& path, bool replace) {
  return engine::CheckDestination(path, replace);
}

absl::Status WriteResultFile(const Result& result, const std::string& path, OutputFormat format,
                             bool replace) {
  return engine::WriteResult(ToEngine(result), path, ToEngine(format), replace, engine::Sync::kYes);
}

absl::StatusOr<std::string> RenderResult(const Result& result, OutputFormat format) {
  return engine::RenderResult(ToEngine(result), ToEngine(format));
}

std::string FormatResultTable(const Result& result) {
  return engine::FormatTable(ToEngine(result));
}

}  // namespace parley::api
