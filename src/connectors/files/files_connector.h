// The files connector: tables read from CSV or Parquet files on the machine Parley runs on. Its
// source description is {"format": "csv" | "parquet", "path": "<absolute path or glob>"}; given
// without "format", the path's extension names it, and a relative path is resolved against the
// working directory when the table is added. The mechanics are in file_source.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "connectors/connector.h"
#include "connectors/files/file_source.h"

namespace parley::connectors::files {

inline constexpr std::string_view kFilesKind = "files";

// Parses a description (JSON text). InvalidArgument "invalid files source description at
// <JSON path>: <problem>" for text that is not a JSON object, an unknown field, a missing or
// non-string path, or an unknown format. Does not look at the file system.
absl::StatusOr<FileDescription> ParseDescription(std::string_view description,
                                                 bool format_required = true);
// The canonical text of a description.
std::string DescriptionText(const FileDescription& description);

class FilesConnector : public Connector {
 public:
  std::string_view kind() const override { return kFilesKind; }
  absl::StatusOr<std::string> Validate(std::string_view description) const override;
  absl::StatusOr<std::string> Pin(std::string_view description) const override;
  absl::StatusOr<std::vector<catalog::Column>> InferSchema(
      std::string_view description) const override;
  // Files are confined by the service itself: a member working from elsewhere registers only
  // files under its organisation's folder of the data root (service::CheckUnderDataRoot). OK.
  absl::Status CheckServedFor(std::string_view description,
                              const std::string& organisation) const override {
    return absl::OkStatus();
  }
  absl::StatusOr<SourcePreview> Preview(std::string_view description, int limit) const override;
  absl::StatusOr<std::vector<std::string>> ResolveFiles(
      std::string_view description) const override;
  absl::StatusOr<engine::SourceView> ViewFor(const catalog::Table& table,
                                             const std::vector<std::string>& files) const override;
  // Rows: counted by reading the files (for Parquet, from their metadata); bytes: the files'
  // sizes on disk.
  absl::StatusOr<catalog::TableSize> Measure(std::string_view description,
                                             const std::vector<std::string>& files) const override;
  SourceSummary Summarize(std::string_view description) const override;
};

}  // namespace parley::connectors::files
