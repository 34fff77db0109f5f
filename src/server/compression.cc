#include "server/compression.h"

#include <zlib.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace parley::server {
namespace {

// Below this, compressing saves less than it costs (a header and a round of deflate).
constexpr size_t kCompressFrom = 1024;

}  // namespace

std::string Gzip(std::string_view data, int level) {
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return result == Z_STREAM_END ? out : std::string();
}

bool AcceptsGzip(const httplib::Request& request) {
  std::string header = request.get_header_value("Accept-Encoding");
  for (absl::string_view coding : absl::StrSplit(header, ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(coding, ';');
    if (absl::AsciiStrToLower(absl::StripAsciiWhitespace(parts[0])) != "gzip") continue;
    bool refused = false;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string parameter = absl::AsciiStrToLower(absl::StripAsciiWhitespace(parts[i]));
      parameter.erase(std::remove(parameter.begin(), parameter.end(), ' '), parameter.end());
      if (parameter == "q=0" || parameter == "q=0.0" || parameter == "q=0.00" ||
          parameter == "q=0.000") {
        refused = true;
      }
    }
    return !refused;
  }
  return false;
}

void SendPrepared(httplib::Response& response, std::shared_ptr<const std::string> bytes,
                  const std::string& content_type, const std::string& encoding) {
  if (!encoding.empty()) response.set_header("Content-Encoding", encoding);
  size_t size = bytes->size();
  // A provider with a known length: httplib writes it as given (it compresses only bodies set
  // with set_content and chunked providers).
  response.set_content_provider(size, content_type,
                                [bytes](size_t offset, size_t length, httplib::DataSink& sink) {
                                  return sink.write(bytes->data() + offset, length);
                                });
}

void SendBody(const httplib::Request& request, httplib::Response& response, std::string body,
              const std::string& content_type) {
  response.set_header("Vary", "Accept-Encoding");
  if (body.empty()) {
    response.set_content(body, content_type);  // nothing to compress
    return;
  }
  if (body.size() >= kCompressFrom && AcceptsGzip(request)) {
    std::string compressed = Gzip(body, 1);
    if (!compressed.empty()) {
      SendPrepared(response, std::make_shared<const std::string>(std::move(compressed)),
                   content_type, "gzip");
      return;
    }
  }
  SendPrepared(response, std::make_shared<const std::string>(std::move(body)), content_type, "");
}

}  // namespace parley::server
