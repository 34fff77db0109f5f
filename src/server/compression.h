// How response bodies are sent compressed. cpp-httplib 0.11 compresses every text or JSON body
// that it is given with set_content, with brotli at its highest quality when the client accepts
// it (every browser does): measured on this machine, 4 s for the console's 300 kB script and
// tens of seconds for a 3.75 MB audit log, on every request. Bodies sent through these functions
// are compressed here instead, with gzip — once, when the server starts, for the console's
// files; at zlib's fastest level for API answers — and handed to httplib as a content provider,
// which it sends as is.
//
// Thread safety: pure functions.
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>

namespace parley::server {

// gzip (RFC 1952) of `data` at zlib level `level` (1 fastest .. 9 smallest).
std::string Gzip(std::string_view data, int level);

// Whether the request's Accept-Encoding accepts gzip (a "gzip" coding without "q=0").
bool AcceptsGzip(const httplib::Request& request);

// Sends `body` (of `content_type`) as the response: gzip-compressed at level 1 when the client
// accepts it and the body is large enough to gain from it, else as it is; never re-compressed
// by httplib.
void SendBody(const httplib::Request& request, httplib::Response& response, std::string body,
              const std::string& content_type);

// Sends bytes that are already in their final form (`encoding`: "gzip" or "" for none).
void SendPrepared(httplib::Response& response, std::shared_ptr<const std::string> bytes,
                  const std::string& content_type, const std::string& encoding);

}  // namespace parley::server
