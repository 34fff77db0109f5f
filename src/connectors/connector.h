// Connectors: how Parley reads each kind of source. A table's catalog record names a kind of
// source ("files"; later "postgres", "encrypted") and holds a description that only that kind's
// connector understands (for files: {"format", "path"}). The service asks the registry for the
// connector of a table's kind to validate a new source, infer the schema it pins, resolve what the
// source reads now (to check that it is its owner's) and build the view the engine creates over
// it. The catalog stores the description as opaque, canonical JSON; its digest of the policy state
// covers it, so a source changed behind Parley's back is detected like any other policy edit.
//
//   const connectors::Registry& registry = connectors::Registry::BuiltIn();
//   PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, registry.Find(kind));
//   PARLEY_ASSIGN_OR_RETURN(std::string description, connector->Validate(given));
//
// Thread safety: connectors hold no state, and a registry is not changed once built (BuiltIn is
// built once), so both may be used from any number of threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "catalog/records.h"
#include "engine/duckdb/session.h"

namespace parley::connectors {

// A file as the operating system identifies it, whatever path, link or glob names it:
// (device, inode).
using FileId = std::pair<uint64_t, uint64_t>;

// What listings show of a source: its format ("csv", "parquet") and, to its owner only, where it
// is (a path or glob). Never shown to other members: the owner's layout is not theirs to learn.
struct SourceSummary {
  std::string format;
  std::string location;
};

// The first rows of a source with its columns, as text (nullopt for NULL): shown to its owner only,
// before the table is added (`table add --preview`).
struct SourcePreview {
  std::vector<catalog::Column> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

class Connector {
 public:
  virtual ~Connector() = default;

  // The kind of source this connector reads, as the catalog records it: [a-z][a-z0-9_]{0,31}.
  virtual std::string_view kind() const = 0;

  // Checks a description a member gave (JSON text) and returns the one to store: complete,
  // canonical (keys sorted, no whitespace) and resolved (for files: an absolute path, and the
  // format the extension names when none is given). InvalidArgument naming the JSON path of the
  // problem ("invalid files source description at /format: ..."); NotFound when it names
  // nothing that exists now.
  virtual absl::StatusOr<std::string> Validate(std::string_view description) const = 0;

  // Whether a member working from elsewhere — connected to a server (`parley serve`) with its
  // organisation's token — may have the server read the source `description` (as given, before
  // Validate, which already connects): the server would otherwise read or connect wherever a
  // description points, with the server's own access. OK, or PermissionDenied saying what such a
  // member may register. Default: refused (a kind of source must say how it is confined).
  virtual absl::Status CheckServedFor(std::string_view description,
                                      const std::string& organisation) const;

  // Completes a validated description with what reading the source teaches once (for files: the
  // CSV dialect, date formats and column types: files/pinned_source.h), so that every query reads
  // it the same way without looking again. Called after the ownership checks, before InferSchema.
  // Errors name where the source is malformed, never its contents. Default: unchanged.
  virtual absl::StatusOr<std::string> Pin(std::string_view description) const {
    return std::string(description);
  }

  // The first `limit` rows of the (pinned) source, for its owner to check before adding it.
  // Default: Unimplemented.
  virtual absl::StatusOr<SourcePreview> Preview(std::string_view description, int limit) const {
    (void)description;
    (void)limit;
    return absl::UnimplementedError("this kind of source has no preview");
  }

  // The columns the source has now, to pin when the table is added (see files::InferSchema).
  virtual absl::StatusOr<std::vector<catalog::Column>> InferSchema(
      std::string_view description) const = 0;

  // The exact files the source reads now, as canonical paths, so the service can check they are
  // their owner's before a query reads them. NotFound when none; empty for a source that reads
  // no local file.
  virtual absl::StatusOr<std::vector<std::string>> ResolveFiles(
      std::string_view description) const = 0;

  // The view over `table` (whose description this connector validated) exposing only its allowed
  // columns and the hidden row identity, reading exactly `files` (ResolveFiles, just resolved).
  // Internal for a stored description that no longer reads (edited outside Parley).
  virtual absl::StatusOr<engine::SourceView> ViewFor(
      const catalog::Table& table, const std::vector<std::string>& files) const = 0;

  // The view for one query: like ViewFor, and a connector that reads a remote database may also
  // push `pushed_filter` into the SQL it sends there (a filter in that database's dialect that
  // Parley rendered from the checked query's IR, implied by the query's own conditions on this
  // table; empty: none). Connectors that read local files ignore it (the default).
  virtual absl::StatusOr<engine::SourceView> ViewForQuery(const catalog::Table& table,
                                                          const std::vector<std::string>& files,
                                                          std::string_view pushed_filter) const {
    return ViewFor(table, files);
  }

  // Metering: the size of the source now — rows, and bytes as docs/usage.md defines them for
  // this kind — reading `files` (ResolveFiles). Measured when a table is added or repointed, and
  // for local files once per version of the files a query reads. Default: the files' sizes on
  // disk, rows not known (-1).
  virtual absl::StatusOr<catalog::TableSize> Measure(std::string_view description,
                                                     const std::vector<std::string>& files) const;
  // For listings; empty fields for a description that does not read.
  virtual SourceSummary Summarize(std::string_view description) const = 0;

  // What the source reads besides local files (ResolveFiles), as identities the catalog claims
  // for the table's owner when it is added (like files' (device, inode)), so that no other member
  // can register the same data. A remote relation: its server, database and relation. Default:
  // none.
  virtual std::vector<FileId> Claims(std::string_view description) const { return {}; }
};

// The connectors of one process, by kind of source.
class Registry {
 public:
  // The connectors this build has: files, postgres.
  static const Registry& BuiltIn();

  // A registry of the built-in connectors to which a process adds its own (the service: tables
  // on its home's engines).
  static std::unique_ptr<Registry> WithBuiltIns();

  // AlreadyExists when the kind is taken.
  absl::Status Add(std::unique_ptr<Connector> connector);
  // InvalidArgument naming the kind and the kinds known, for a kind no connector reads.
  absl::StatusOr<const Connector*> Find(std::string_view kind) const;
  std::vector<std::string> Kinds() const;  // sorted

 private:
  std::map<std::string, std::unique_ptr<Connector>, std::less<>> connectors_;
};

// The sizes of `files` on disk, added up (a file that cannot be examined counts 0).
int64_t FileBytes(const std::vector<std::string>& files);

// The identities of `paths` (stat follows links). Paths that cannot be examined are left out.
std::set<FileId> FileIdentities(const std::vector<std::string>& paths);

// The allowed columns of `table` with their pinned types: what a view over it must show
// (engine::SourceView::pinned_columns, checked by the engine before every run). Internal when an
// allowed column is not in the pinned schema (the catalog never stores that).
absl::StatusOr<std::vector<engine::ResultColumn>> PinnedColumns(const catalog::Table& table);

// Compares what the session sees for `table`'s view with the pinned schema, as the engine does
// before every run (engine::duckdb::CheckPinnedColumns). FailedPrecondition naming the table, the
// column and both types when they differ, or the missing column. The same for every kind of
// source: the view's columns are the engine's.
absl::Status CheckPinnedSchema(engine::duckdb::Session& session, const catalog::Table& table);

}  // namespace parley::connectors
