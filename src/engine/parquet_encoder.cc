// The in-process Parquet encoder (see the header for why it exists). Layout of the file:
//
//   "PAR1" | per column: page header, definition levels, PLAIN values | footer | length | "PAR1"
//
// One row group, one data page (format v1, uncompressed) per column, every column OPTIONAL with
// its definition levels as one bit-packed run. The footer (FileMetaData) and page headers are
// Thrift compact-protocol structs; field numbers are those of parquet-format's parquet.thrift.
#include "engine/parquet_encoder.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/display_width.h"

namespace parley::engine {
namespace {

// parquet.thrift enums.
enum PhysicalType : int32_t {
  kBoolean = 0,
  kInt32 = 1,
  kInt64 = 2,
  kFloat = 4,
  kDouble = 5,
  kByteArray = 6,
  kFixedLenByteArray = 7,
};
enum ConvertedType : int32_t {
  kUtf8 = 0,
  kDecimal = 5,
  kDate = 6,
  kInt8 = 15,
  kInt16 = 16,
  kInt32Converted = 17,
  kInt64Converted = 18,
};
constexpr int32_t kOptional = 1;      // FieldRepetitionType
constexpr int32_t kPlain = 0;         // Encoding
constexpr int32_t kRle = 3;           // Encoding (the definition levels)
constexpr int32_t kUncompressed = 0;  // CompressionCodec
constexpr int32_t kDataPage = 0;      // PageType
constexpr char kMagic[] = "PAR1";

// Thrift's compact protocol, only what Parquet's headers use: a field is announced by the
// difference of its number from the previous field's (or the number itself), structs end with a
// zero byte, integers are zigzag varints.
class ThriftWriter {
 public:
  enum Type : uint8_t {
    kTrue = 1,
    kFalse = 2,
    kByte = 3,
    kI32 = 5,
    kI64 = 6,
    kBinary = 8,
    kList = 9,
    kStruct = 12,
  };

  explicit ThriftWriter(std::string* out) : out_(out) {}

  void I32(int16_t id, int64_t value) {
    Field(id, kI32);
    Varint(ZigZag(value));
  }
  void I64(int16_t id, int64_t value) {
    Field(id, kI64);
    Varint(ZigZag(value));
  }
  void Byte(int16_t id, int8_t value) {
    Field(id, kByte);
    out_->push_back(static_cast<char>(value));
  }
  void Bool(int16_t id, bool value) { Field(id, value ? kTrue : kFalse); }
  void Binary(int16_t id, std::string_view value) {
    Field(id, kBinary);
    BinaryValue(value);
  }
  void BeginStruct(int16_t id) {
    Field(id, kStruct);
    last_.push_back(0);
  }
  // An element of a list of structs has no field header of its own.
  void BeginStructElement() { last_.push_back(0); }
  void EndStruct() {
    out_->push_back('\0');
    last_.pop_back();
  }
  void BeginList(int16_t id, Type element, size_t size) {
    Field(id, kList);
    if (size < 15) {
      out_->push_back(static_cast<char>((size << 4) | element));
    } else {
      out_->push_back(static_cast<char>(0xF0 | element));
      Varint(size);
    }
  }
  void I32Element(int64_t value) { Varint(ZigZag(value)); }
  void BinaryElement(std::string_view value) { BinaryValue(value); }
  // The end of the outermost struct.
  void End() { out_->push_back('\0'); }

 private:
  static uint64_t ZigZag(int64_t value) {
    return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  }
  void Varint(uint64_t value) {
    while (value >= 0x80) {
      out_->push_back(static_cast<char>((value & 0x7F) | 0x80));
      value >>= 7;
    }
    out_->push_back(static_cast<char>(value));
  }
  void BinaryValue(std::string_view value) {
    Varint(value.size());
    out_->append(value);
  }
  void Field(int16_t id, uint8_t type) {
    int16_t& last = last_.back();
    if (id > last && id - last <= 15) {
      out_->push_back(static_cast<char>(((id - last) << 4) | type));
    } else {
      out_->push_back(static_cast<char>(type));
      Varint(ZigZag(id));
    }
    last = id;
  }

  std::string* out_;
  std::vector<int16_t> last_ = {0};
};

// How a column of one of DuckDB's types is stored, as DuckDB's own Parquet writer stores it.
enum class Kind { kBoolean, kInteger, kHugeint, kFloat, kDouble, kDecimal, kVarchar, kDate };

struct ColumnLayout {
  Kind kind = Kind::kVarchar;
  int32_t physical = kByteArray;
  int32_t type_length = 0;  // FIXED_LEN_BYTE_ARRAY only
  int32_t converted = -1;   // none when negative
  int bit_width = 0;        // integers
  int precision = 0;        // decimals
  int scale = 0;
  __int128 min = 0, max = 0;  // integers: the type's range
};

constexpr __int128 kDecimal38Max = [] {
  __int128 value = 1;
  for (int i = 0; i < 38; ++i) value *= 10;
  return value - 1;
}();

__int128 PowerOfTen(int exponent) {
  __int128 value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

ColumnLayout Integer(int bit_width, int32_t physical, int32_t converted) {
  ColumnLayout layout{Kind::kInteger, physical, 0, converted, bit_width};
  layout.max = (static_cast<__int128>(1) << (bit_width - 1)) - 1;
  layout.min = -layout.max - 1;
  return layout;
}

ColumnLayout Decimal(int precision, int scale) {
  ColumnLayout layout{Kind::kDecimal};
  layout.precision = precision;
  layout.scale = scale;
  layout.converted = kDecimal;
  // DuckDB stores DECIMAL(p,s) as a 16-, 32-, 64- or 128-bit integer by its width and writes
  // the first two as INT32, then INT64, then 16 big-endian bytes.
  layout.physical = precision <= 9 ? kInt32 : precision <= 18 ? kInt64 : kFixedLenByteArray;
  if (layout.physical == kFixedLenByteArray) layout.type_length = 16;
  return layout;
}

// A small number of digits only (no sign, no spaces), as in a type name or a date.
bool ParseDigits(std::string_view text, int* value) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

// The layout of a column of `type` (DuckDB's name for it), or nullopt when this encoder leaves it
// to DuckDB.
std::optional<ColumnLayout> LayoutOf(const std::string& type) {
  if (type == "BOOLEAN") return ColumnLayout{Kind::kBoolean, kBoolean};
  if (type == "TINYINT") return Integer(8, kInt32, kInt8);
  if (type == "SMALLINT") return Integer(16, kInt32, kInt16);
  if (type == "INTEGER") return Integer(32, kInt32, kInt32Converted);
  if (type == "BIGINT") return Integer(64, kInt64, kInt64Converted);
  if (type == "FLOAT") return ColumnLayout{Kind::kFloat, kFloat};
  if (type == "DOUBLE") return ColumnLayout{Kind::kDouble, kDouble};
  if (type == "DATE") return ColumnLayout{Kind::kDate, kInt32, 0, kDate};
  // ENUM and the NULL type are written as their text (as the DuckDB path casts them).
  if (type == "VARCHAR" || type == "ENUM" || type == "\"NULL\"") {
    return ColumnLayout{Kind::kVarchar, kByteArray, 0, kUtf8};
  }
  if (type == "HUGEINT") {
    // Parquet has no 128-bit integer: DECIMAL(38,0) keeps every digit (as the DuckDB path does).
    ColumnLayout layout = Decimal(38, 0);
    layout.kind = Kind::kHugeint;
    return layout;
  }
  int precision = 0, scale = 0;
  if (absl::StartsWith(type, "DECIMAL(") && absl::EndsWith(type, ")")) {
    std::string_view inside(type.data() + 8, type.size() - 9);
    size_t comma = inside.find(',');
    if (comma != std::string_view::npos && ParseDigits(inside.substr(0, comma), &precision) &&
        ParseDigits(inside.substr(comma + 1), &scale) && precision >= 1 && precision <= 38 &&
        scale >= 0 && scale <= precision) {
      return Decimal(precision, scale);
    }
  }
  return std::nullopt;
}

// Parses an integer as DuckDB prints one: an optional minus sign and digits, nothing else.
bool ParseInteger(std::string_view text, __int128* value) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.size() > 38) return false;
  __int128 result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    result = result * 10 + (c - '0');
  }
  *value = negative ? -result : result;
  return true;
}

// Parses a decimal as DuckDB prints DECIMAL(p,s): digits, then a point and exactly s digits
// when s > 0; the unscaled value must fit p digits.
bool ParseDecimal(std::string_view text, int precision, int scale, __int128* unscaled) {
  std::string_view whole = text, fraction;
  if (scale > 0) {
    size_t point = text.find('.');
    if (point == std::string_view::npos || text.size() - point - 1 != static_cast<size_t>(scale)) {
      return false;
    }
    whole = text.substr(0, point);
    fraction = text.substr(point + 1);
  }
  bool negative = !whole.empty() && whole.front() == '-';
  if (negative) whole.remove_prefix(1);
  __int128 integer = 0, fractional = 0;
  if (whole.empty() || whole.front() == '-' || !ParseInteger(whole, &integer)) return false;
  if (scale > 0 && (fraction.front() == '-' || !ParseInteger(fraction, &fractional))) return false;
  __int128 limit = PowerOfTen(precision);
  if (integer >= limit) return false;
  __int128 value = integer * PowerOfTen(scale) + fractional;
  if (value >= limit) return false;
  *unscaled = negative ? -value : value;
  return true;
}

// Days since 1970-01-01 of a date printed as YYYY-MM-DD (years 1 to 9999; DuckDB prints other
// years with more digits or a "(BC)" suffix, which are left to DuckDB).
bool ParseDate(std::string_view text, int32_t* days) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  int year = 0, month = 0, day = 0;
  if (!ParseDigits(text.substr(0, 4), &year) || !ParseDigits(text.substr(5, 2), &month) ||
      !ParseDigits(text.substr(8, 2), &day)) {
    return false;
  }
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year < 1 || month < 1 || month > 12 || day < 1 ||
      day > kDaysInMonth[month - 1] + (month == 2 && leap ? 1 : 0)) {
    return false;
  }
  // Days from the civil date (the proleptic Gregorian calendar DuckDB uses).
  int y = year - (month <= 2 ? 1 : 0);
  int era = y / 400;
  int year_of_era = y - era * 400;
  int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  *days = era * 146097 + day_of_era - 719468;
  return true;
}

template <typename Float>
bool ParseFloat(std::string_view text, Float* value) {
  // DuckDB prints the shortest text that reads back as the same value, and "inf", "-inf", "nan".
  if (text.empty() || text.front() == '+' || text == "-nan") return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

template <typename Integer>
void AppendLittleEndian(std::string* out, Integer value) {
  char bytes[sizeof(Integer)];
  std::memcpy(bytes, &value, sizeof(Integer));  // x86-64 and aarch64 are little-endian
  out->append(bytes, sizeof(Integer));
}

void AppendBigEndian128(std::string* out, __int128 value) {
  auto bits = static_cast<unsigned __int128>(value);
  for (int shift = 120; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>(static_cast<uint8_t>(bits >> shift)));
  }
}

// Appends one value's PLAIN encoding; false when the text is not in the form described above.
bool AppendValue(const ColumnLayout& layout, const std::string& text, std::string* values,
                 std::vector<bool>* booleans) {
  switch (layout.kind) {
    case Kind::kBoolean:
      if (text != "true" && text != "false") return false;
      booleans->push_back(text == "true");
      return true;
    case Kind::kInteger: {
      __int128 value = 0;
      if (!ParseInteger(text, &value) || value < layout.min || value > layout.max) return false;
      if (layout.physical == kInt32) {
        AppendLittleEndian(values, static_cast<int32_t>(value));
      } else {
        AppendLittleEndian(values, static_cast<int64_t>(value));
      }
      return true;
    }
    case Kind::kHugeint: {
      __int128 value = 0;
      if (!ParseInteger(text, &value) || value > kDecimal38Max || value < -kDecimal38Max) {
        return false;
      }
      AppendBigEndian128(values, value);
      return true;
    }
    case Kind::kDecimal: {
      __int128 value = 0;
      if (!ParseDecimal(text, layout.precision, layout.scale, &value)) return false;
      if (layout.physical == kInt32) {
        AppendLittleEndian(values, static_cast<int32_t>(value));
      } else if (layout.physical == kInt64) {
        AppendLittleEndian(values, static_cast<int64_t>(value));
      } else {
        AppendBigEndian128(values, value);
      }
      return true;
    }
    case Kind::kFloat: {
      float value = 0;
      if (!ParseFloat(text, &value)) return false;
      AppendLittleEndian(values, value);
      return true;
    }
    case Kind::kDouble: {
      double value = 0;
      if (!ParseFloat(text, &value)) return false;
      AppendLittleEndian(values, value);
      return true;
    }
    case Kind::kDate: {
      int32_t days = 0;
      if (!ParseDate(text, &days)) return false;
      AppendLittleEndian(values, days);
      return true;
    }
    case Kind::kVarchar: {
      // The column is annotated as UTF-8 text, which DuckDB's reader checks. A NUL byte would be
      // read back as the end of the text (the reader hands out C strings): such a value keeps
      // the path through DuckDB it had.
      if (text.find('\0') != std::string::npos) return false;
      size_t offset = 0;
      char32_t c = 0;
      while (offset < text.size()) {
        if (!NextCodePoint(text, &offset, &c)) return false;
      }
      AppendLittleEndian(values, static_cast<uint32_t>(text.size()));
      values->append(text);
      return true;
    }
  }
  return false;
}

// Bit-packs `bits` (least significant bit first), as Parquet packs booleans and one-bit levels.
std::string PackBits(const std::vector<bool>& bits) {
  std::string packed((bits.size() + 7) / 8, '\0');
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i]) packed[i / 8] = static_cast<char>(packed[i / 8] | (1 << (i % 8)));
  }
  return packed;
}

// One column's data page: the definition levels (1 = a value, 0 = NULL) as a single bit-packed
// run of the RLE/bit-packing hybrid behind a 4-byte length, then the values.
absl::StatusOr<std::string> EncodePage(const ResultTable& result, size_t column,
                                       const ColumnLayout& layout) {
  std::vector<bool> defined;
  std::vector<bool> booleans;
  std::string values;
  defined.reserve(result.rows.size());
  for (const auto& row : result.rows) {
    defined.push_back(row[column].has_value());
    if (row[column] && !AppendValue(layout, *row[column], &values, &booleans)) {
      return absl::UnimplementedError(
          absl::StrCat("column ", column + 1, " holds a value this encoder does not parse"));
    }
  }
  if (layout.kind == Kind::kBoolean) values = PackBits(booleans);
  std::string levels;
  size_t groups = (defined.size() + 7) / 8;
  uint64_t header = (static_cast<uint64_t>(groups) << 1) | 1;  // a bit-packed run of `groups`×8
  while (header >= 0x80) {
    levels.push_back(static_cast<char>((header & 0x7F) | 0x80));
    header >>= 7;
  }
  levels.push_back(static_cast<char>(header));
  levels += PackBits(defined);
  std::string page;
  AppendLittleEndian(&page, static_cast<uint32_t>(levels.size()));
  page += levels;
  page += values;
  return page;
}

void WriteSchemaElement(ThriftWriter& thrift, const std::string& name, const ColumnLayout& layout) {
  thrift.BeginStructElement();
  thrift.I32(1, layout.physical);
  if (layout.type_length > 0) thrift.I32(2, layout.type_length);
  thrift.I32(3, kOptional);
  thrift.Binary(4, name);
  if (layout.converted >= 0) thrift.I32(6, layout.converted);
  if (layout.converted == kDecimal) {
    thrift.I32(7, layout.scale);
    thrift.I32(8, layout.precision);
  }
  // The logical type (a union: one field set), beside the converted type for older readers.
  if (layout.converted >= 0) {
    thrift.BeginStruct(10);
    switch (layout.converted) {
      case kUtf8:
        thrift.BeginStruct(1);  // STRING
        thrift.EndStruct();
        break;
      case kDecimal:
        thrift.BeginStruct(5);
        thrift.I32(1, layout.scale);
        thrift.I32(2, layout.precision);
        thrift.EndStruct();
        break;
      case kDate:
        thrift.BeginStruct(6);
        thrift.EndStruct();
        break;
      default:  // INT_8 to INT_64
        thrift.BeginStruct(10);
        thrift.Byte(1, static_cast<int8_t>(layout.bit_width));
        thrift.Bool(2, true);
        thrift.EndStruct();
        break;
    }
    thrift.EndStruct();
  }
  thrift.EndStruct();
}

}  // namespace

absl::StatusOr<std::string> EncodeParquet(
    const ResultTable& result, const std::vector<std::pair<std::string, std::string>>& metadata) {
  if (result.columns.empty()) return absl::InvalidArgumentError("the result has no columns");
  if (result.rows.size() * result.columns.size() > kEncodedParquetMaxCells) {
    return absl::UnimplementedError("the result is too large to encode in-process");
  }
  size_t text_bytes = 0;
  for (const auto& row : result.rows) {
    if (row.size() != result.columns.size()) {
      return absl::InvalidArgumentError("a row of the result has the wrong number of values");
    }
    for (const auto& value : row) text_bytes += value ? value->size() : 0;
  }
  if (text_bytes > kEncodedParquetMaxBytes) {
    return absl::UnimplementedError("the result is too large to encode in-process");
  }
  std::vector<ColumnLayout> layouts;
  for (size_t i = 0; i < result.columns.size(); ++i) {
    std::optional<ColumnLayout> layout = LayoutOf(result.columns[i].type);
    if (!layout) {
      return absl::UnimplementedError(absl::StrCat("column ", i + 1, " has the type ",
                                                   result.columns[i].type,
                                                   ", which this encoder leaves to DuckDB"));
    }
    layouts.push_back(*layout);
  }

  std::string file = kMagic;
  struct Chunk {
    int64_t offset;
    int64_t size;
  };
  std::vector<Chunk> chunks;
  int64_t rows = static_cast<int64_t>(result.rows.size());
  // A result without rows has no row group, as DuckDB writes it.
  if (rows > 0) {
    for (size_t i = 0; i < layouts.size(); ++i) {
      PARLEY_ASSIGN_OR_RETURN(std::string page, EncodePage(result, i, layouts[i]));
      if (page.size() > INT32_MAX / 2) return absl::UnimplementedError("the page is too large");
      std::string header;
      ThriftWriter thrift(&header);
      thrift.I32(1, kDataPage);
      thrift.I32(2, static_cast<int64_t>(page.size()));  // uncompressed size
      thrift.I32(3, static_cast<int64_t>(page.size()));  // compressed size: the same
      thrift.BeginStruct(5);                             // DataPageHeader
      thrift.I32(1, rows);
      thrift.I32(2, kPlain);
      thrift.I32(3, kRle);
      thrift.I32(4, kRle);
      thrift.EndStruct();
      thrift.End();
      chunks.push_back(
          {static_cast<int64_t>(file.size()), static_cast<int64_t>(header.size() + page.size())});
      file += header;
      file += page;
    }
  }

  std::string footer;
  ThriftWriter thrift(&footer);
  thrift.I32(1, 1);  // version
  thrift.BeginList(2, ThriftWriter::kStruct, layouts.size() + 1);
  thrift.BeginStructElement();  // the root
  thrift.Binary(4, "duckdb_schema");
  thrift.I32(5, static_cast<int64_t>(layouts.size()));
  thrift.EndStruct();
  for (size_t i = 0; i < layouts.size(); ++i) {
    WriteSchemaElement(thrift, result.columns[i].name, layouts[i]);
  }
  thrift.I64(3, rows);
  thrift.BeginList(4, ThriftWriter::kStruct, chunks.empty() ? 0 : 1);
  if (!chunks.empty()) {
    int64_t total = 0;
    thrift.BeginStructElement();  // RowGroup
    thrift.BeginList(1, ThriftWriter::kStruct, chunks.size());
    for (size_t i = 0; i < chunks.size(); ++i) {
      total += chunks[i].size;
      thrift.BeginStructElement();  // ColumnChunk
      thrift.I64(2, chunks[i].offset);
      thrift.BeginStruct(3);  // ColumnMetaData
      thrift.I32(1, layouts[i].physical);
      thrift.BeginList(2, ThriftWriter::kI32, 2);
      thrift.I32Element(kPlain);
      thrift.I32Element(kRle);
      thrift.BeginList(3, ThriftWriter::kBinary, 1);
      thrift.BinaryElement(result.columns[i].name);
      thrift.I32(4, kUncompressed);
      thrift.I64(5, rows);
      thrift.I64(6, chunks[i].size);
      thrift.I64(7, chunks[i].size);
      thrift.I64(9, chunks[i].offset);
      thrift.EndStruct();
      thrift.EndStruct();
    }
    thrift.I64(2, total);
    thrift.I64(3, rows);
    thrift.EndStruct();
  }
  if (!metadata.empty()) {
    thrift.BeginList(5, ThriftWriter::kStruct, metadata.size());
    for (const auto& [key, value] : metadata) {
      thrift.BeginStructElement();
      thrift.Binary(1, key);
      thrift.Binary(2, value);
      thrift.EndStruct();
    }
  }
  thrift.Binary(6, "parley");  // created_by
  thrift.End();
  file += footer;
  AppendLittleEndian(&file, static_cast<uint32_t>(footer.size()));
  file += kMagic;
  return file;
}

}  // namespace parley::engine
