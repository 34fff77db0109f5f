#include "engine/result_codec.h"

#include <cstdint>
#include <cstring>

namespace parley::engine {
namespace {

constexpr std::string_view kMagic = "PRB1";

// Appends to `out`, refusing to grow it past `max_bytes`.
class Writer {
 public:
  Writer(std::string& out, size_t max_bytes) : out_(out), max_bytes_(max_bytes) {}
  bool Fixed(uint64_t value, size_t width) {
    if (out_.size() + width > max_bytes_) return false;
    for (size_t i = 0; i < width; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return true;
  }
  bool Bytes(std::string_view bytes) {
    if (bytes.size() > UINT32_MAX || !Fixed(bytes.size(), 4)) return false;
    if (out_.size() + bytes.size() > max_bytes_) return false;
    out_.append(bytes);
    return true;
  }

 private:
  std::string& out_;
  size_t max_bytes_;
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool Fixed(size_t width, uint64_t* value) {
    if (bytes_.size() < width) return false;
    *value = 0;
    for (size_t i = 0; i < width; ++i) {
      *value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes_[i])) << (8 * i);
    }
    bytes_.remove_prefix(width);
    return true;
  }
  bool Bytes(std::string* out) {
    uint64_t length = 0;
    if (!Fixed(4, &length) || bytes_.size() < length) return false;
    out->assign(bytes_.data(), length);
    bytes_.remove_prefix(length);
    return true;
  }
  bool Prefix(std::string_view prefix) {
    if (bytes_.substr(0, prefix.size()) != prefix) return false;
    bytes_.remove_prefix(prefix.size());
    return true;
  }
  size_t remaining() const { return bytes_.size(); }

 private:
  std::string_view bytes_;
};

}  // namespace

std::optional<std::string> EncodeResult(const ResultTable& result, size_t max_bytes) {
  std::string out;
  if (max_bytes < kMagic.size()) return std::nullopt;
  out.append(kMagic);
  Writer writer(out, max_bytes);
  if (!writer.Fixed(result.columns.size(), 4)) return std::nullopt;
  for (const ResultColumn& column : result.columns) {
    if (!writer.Bytes(column.name) || !writer.Bytes(column.type)) return std::nullopt;
  }
  if (!writer.Fixed(result.rows.size(), 8)) return std::nullopt;
  for (const auto& row : result.rows) {
    // A ragged row has no encoding: it would not decode into the same table.
    if (row.size() != result.columns.size()) return std::nullopt;
    for (const auto& value : row) {
      if (!writer.Fixed(value ? 1 : 0, 1)) return std::nullopt;
      if (value && !writer.Bytes(*value)) return std::nullopt;
    }
  }
  return out;
}

absl::StatusOr<ResultTable> DecodeResult(std::string_view bytes) {
  absl::Status unreadable = absl::DataLossError("the stored result is unreadable");
  Reader reader(bytes);
  if (!reader.Prefix(kMagic)) return unreadable;
  uint64_t columns = 0;
  if (!reader.Fixed(4, &columns) || columns > reader.remaining() / 8) return unreadable;
  ResultTable table;
  table.columns.resize(columns);
  for (ResultColumn& column : table.columns) {
    if (!reader.Bytes(&column.name) || !reader.Bytes(&column.type)) return unreadable;
  }
  uint64_t rows = 0;
  if (!reader.Fixed(8, &rows)) return unreadable;
  // Every value takes at least its tag byte: a row count the bytes cannot hold is refused before
  // anything is allocated for it.
  if (columns == 0 ? rows != 0 : rows > reader.remaining() / columns) return unreadable;
  table.rows.resize(rows);
  for (auto& row : table.rows) {
    row.resize(columns);
    for (auto& value : row) {
      uint64_t tag = 0;
      if (!reader.Fixed(1, &tag) || tag > 1) return unreadable;
      if (tag == 1) {
        value.emplace();
        if (!reader.Bytes(&*value)) return unreadable;
      }
    }
  }
  if (reader.remaining() != 0) return unreadable;
  return table;
}

}  // namespace parley::engine
