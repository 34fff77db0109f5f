#include "server/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/codec.h"
#include "api/http_status.h"
#include "base/retry.h"
#include "base/status.h"
#include "server/compression.h"
#include "server/console.h"
#include "server/disconnect.h"
#include "server/uploads.h"

namespace parley::server {
namespace {

constexpr char kJson[] = "application/json";

struct Reply {
  int status = 200;
  std::string body;
  std::string retry_after;  // seconds, for a 429 the client may retry
};

Reply ErrorReply(const absl::Status& status) {
  Reply reply{api::HttpStatus(status.code()), api::Dump(api::ErrorJson(status)), ""};
  if (auto seconds = status.GetPayload(kRetryAfterPayload)) {
    reply.retry_after = std::string(*seconds);
  }
  return reply;
}

// An error the HTTP layer answers itself, with a status outside the service's table.
Reply HttpError(int http_status, absl::StatusCode code, std::string message) {
  return {http_status, api::Dump(api::ErrorJson(absl::Status(code, message))), ""};
}

// One route and what answers it: decode the request from its JSON fields, call the service as
// the caller, encode the response.
struct Handler {
  api::Route route;
  std::function<Reply(const identity::Caller&, const nlohmann::json&)> answer;
};

template <class Request, class Response>
Handler MakeHandler(api::LocalService& api, const api::Endpoint<Request, Response>& endpoint,
                    absl::StatusOr<Response> (api::LocalService::*method)(const identity::Caller&,
                                                                          const Request&)) {
  return {endpoint.route,
          [&api, method](const identity::Caller& caller, const nlohmann::json& fields) -> Reply {
            absl::StatusOr<Request> request = api::FromJson<Request>(fields);
            if (!request.ok()) return ErrorReply(request.status());
            absl::StatusOr<Response> response = (api.*method)(caller, *request);
            if (!response.ok()) return ErrorReply(response.status());
            return {200, api::Dump(api::ToJson(*response)), ""};
          }};
}

std::vector<Handler> AllHandlers(api::LocalService& a) {
#define PARLEY_HANDLER(name, request, response, method, path) \
  MakeHandler(a, api::k##name, &api::LocalService::name),
  return {PARLEY_API_ENDPOINTS(PARLEY_HANDLER)};
#undef PARLEY_HANDLER
}

// Debian's cpp-httplib listens with a backlog of 5 (compiled in): a burst of clients connecting
// at once overflows it, and their connections are reset. Listening again on the bound socket
// raises the backlog; the socket is a protected member, hence this subclass.
template <class Base>
class Listening : public Base {
 public:
  using Base::Base;
  void RaiseBacklog() { ::listen(this->svr_sock_, SOMAXCONN); }
};

// "application/json", optionally with parameters ("; charset=utf-8"), in any case.
bool IsJsonContentType(const std::string& value) {
  std::string type = absl::AsciiStrToLower(value.substr(0, value.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type == kJson;
}

}  // namespace

bool IsLoopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr address{};
  if (inet_pton(AF_INET, host.c_str(), &address) == 1) {
    return (ntohl(address.s_addr) >> 24) == 127;
  }
  return false;
}

absl::Status ParseListen(const std::string& listen, std::string& host, int& port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("--listen takes HOST:PORT, e.g. 127.0.0.1:8443");
  }
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int number = -1;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &number) || number < 0 || number > 65535) {
    return absl::InvalidArgumentError("--listen: the port must be a number from 0 to 65535");
  }
  port = number;
  return absl::OkStatus();
}

struct Server::Impl {
  api::LocalService* service = nullptr;
  Options options;
  std::vector<Handler> handlers;
  std::unique_ptr<httplib::Server> http;
  std::function<void()> raise_backlog;
  std::unique_ptr<Console> console;

  Reply Answer(const httplib::Request& request, const std::string& body) const;
  // The caller of a request: its bearer token, else (no Authorization header) the console's
  // session cookie, CSRF- and origin-checked for changes. The API and the upload route both ask
  // here, so a browser uploads under the same protections as every other change it makes.
  absl::StatusOr<identity::Caller> Authenticate(const httplib::Request& request) const;
  void Handle(const httplib::Request& request, const std::string& body,
              httplib::Response& response) const;
  // POST and PUT: the body read here, at most max_body_bytes (the upload route streams its own).
  void HandleWithBody(const httplib::Request& request, httplib::Response& response,
                      const httplib::ContentReader& reader) const;
};

absl::StatusOr<identity::Caller> AuthenticateRequest(api::LocalService& service,
                                                     const httplib::Request& request) {
  std::string authorization = request.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      authorization.compare(0, kBearer.size(), kBearer) == 0) {
    return service.Authenticate(std::string_view(authorization).substr(kBearer.size()));
  }
  return absl::UnauthenticatedError("missing, invalid or revoked API token");
}

absl::StatusOr<identity::Caller> Server::Impl::Authenticate(const httplib::Request& request) const {
  if (request.get_header_value("Authorization").empty() && Console::HasSessionCookie(request)) {
    return console->CallerFromCookie(request);  // the console's session, CSRF-checked
  }
  return AuthenticateRequest(*service, request);
}

void Server::Impl::HandleWithBody(const httplib::Request& request, httplib::Response& response,
                                  const httplib::ContentReader& reader) const {
  std::string body;
  bool too_large = false;
  bool read = reader([&](const char* data, size_t length) {
    if (body.size() + length > options.max_body_bytes) {
      too_large = true;
      return false;
    }
    body.append(data, length);
    return true;
  });
  if (too_large || !read) {
    // Too large, or not all of it arrived in time (or a malformed chunk): nothing is decoded.
    Reply reply = too_large ? HttpError(413, absl::StatusCode::kInvalidArgument,
                                        "the request body is too large")
                            : HttpError(400, absl::StatusCode::kInvalidArgument,
                                        "the request could not be read (malformed, or sent too "
                                        "slowly)");
    response.status = reply.status;
    response.set_header("Connection", "close");
    response.set_content(reply.body, kJson);
    DisconnectAfterAnswer(request);
    return;
  }
  Handle(request, body, response);
}

Reply Server::Impl::Answer(const httplib::Request& request, const std::string& body) const {
  // The route first (routes are public, docs/openapi.json), then who asks.
  const Handler* handler = nullptr;
  std::map<std::string, std::string> parameters;
  std::string allowed;
  for (const Handler& candidate : handlers) {
    auto matched = api::MatchPath(candidate.route.path, request.path);
    if (!matched) continue;
    if (request.method == candidate.route.method) {
      handler = &candidate;
      parameters = *std::move(matched);
      break;
    }
    absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", candidate.route.method);
  }
  if (handler == nullptr) {
    if (!allowed.empty()) {
      return HttpError(
          405, absl::StatusCode::kInvalidArgument,
          absl::StrCat(request.method, " is not allowed here (allowed: ", allowed, ")"));
    }
    return HttpError(404, absl::StatusCode::kNotFound, "no such route in the Parley API");
  }

  absl::StatusOr<identity::Caller> caller = Authenticate(request);
  if (!caller.ok()) return ErrorReply(caller.status());

  if (handler->route.HasBody() && !body.empty() &&
      !IsJsonContentType(request.get_header_value("Content-Type"))) {
    return HttpError(415, absl::StatusCode::kInvalidArgument,
                     "the request body must be JSON (Content-Type: application/json)");
  }
  absl::StatusOr<nlohmann::json> fields =
      api::RequestJson(handler->route, parameters, body, request.params);
  if (!fields.ok()) return ErrorReply(fields.status());
  return handler->answer(*caller, *fields);
}

void Server::Impl::Handle(const httplib::Request& request, const std::string& body,
                          httplib::Response& response) const {
  auto start = std::chrono::steady_clock::now();
  console->SetSecurityHeaders(request, response);
  if (std::optional<int> status = console->Answer(request, body, response)) {
    if (options.log) options.log(absl::StrCat(request.method, " ", request.path, " ", *status));
    return;
  }
  Reply reply = Answer(request, body);
  response.status = reply.status;
  if (reply.status == 401) response.set_header("WWW-Authenticate", "Bearer");
  if (!reply.retry_after.empty()) response.set_header("Retry-After", reply.retry_after);
  if (reply.status == 405) {
    std::string allow;
    for (const Handler& handler : handlers) {
      if (api::MatchPath(handler.route.path, request.path)) {
        absl::StrAppend(&allow, allow.empty() ? "" : ", ", handler.route.method);
      }
    }
    response.set_header("Allow", allow);
  }
  SendBody(request, response, std::move(reply.body), kJson);  // never brotli: compression.h
  if (options.log) {
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    options.log(
        absl::StrCat(request.method, " ", request.path, " ", reply.status, " ", micros, "us"));
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Create(api::LocalService& service,
                                                       Options options) {
  bool tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (tls && (options.tls_cert_file.empty() || options.tls_key_file.empty())) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate (--tls-cert) and a key "
        "(--tls-key)");
  }
  if (!tls && !IsLoopback(options.host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to listen on '", options.host,
        "' without TLS: tokens would cross the network in the clear; listen on a loopback "
        "address (127.0.0.1) or give --tls-cert and --tls-key"));
  }
  auto impl = std::make_unique<Impl>();
  impl->service = &service;
  impl->options = std::move(options);
  impl->handlers = AllHandlers(service);
  Clock clock = impl->options.clock;
  if (!clock) clock = [] { return std::chrono::system_clock::now(); };
  PARLEY_ASSIGN_OR_RETURN(impl->console,
                          Console::Create(service, impl->options.console_dir,
                                          impl->options.session_lifetime, std::move(clock), tls));
  if (tls) {
    auto https = std::make_unique<Listening<httplib::SSLServer>>(
        impl->options.tls_cert_file.c_str(), impl->options.tls_key_file.c_str());
    if (!https->is_valid()) {
      return absl::FailedPreconditionError(
          "cannot load the TLS certificate and key (PEM files, the key unencrypted)");
    }
    impl->raise_backlog = [server = https.get()] { server->RaiseBacklog(); };
    impl->http = std::move(https);
  } else {
    auto http = std::make_unique<Listening<httplib::Server>>();
    impl->raise_backlog = [server = http.get()] { server->RaiseBacklog(); };
    impl->http = std::move(http);
  }
  httplib::Server& http = *impl->http;
  int threads = impl->options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Bodies are read by the handlers below, each with its own limit: JSON requests at most
  // max_body_bytes (HandleWithBody), uploads at most the service's upload limit (uploads.cc).
  http.set_payload_max_length(
      std::max<size_t>(impl->options.max_body_bytes, service.max_upload_bytes()));
  http.set_read_timeout(impl->options.read_timeout);
  http.set_write_timeout(impl->options.write_timeout);
  // Without TCP_NODELAY an answer written in two pieces (headers, then body) waits for the
  // client's delayed ACK of the first (40 ms on Linux) before the second leaves: every request
  // took at least 40 ms, on loopback too (bench/README.md, "parley serve under load"). Set on the
  // listening socket, which accepted connections inherit.
  http.set_tcp_nodelay(true);
  // An idle keep-alive connection holds a worker: let it go soon.
  http.set_keep_alive_timeout(2);
  http.set_keep_alive_max_count(1000);
  Impl* self = impl.get();
  auto handle = [self](const httplib::Request& request, httplib::Response& response) {
    self->Handle(request, request.body, response);
  };
  auto handle_body = [self](const httplib::Request& request, httplib::Response& response,
                            const httplib::ContentReader& reader) {
    self->HandleWithBody(request, response, reader);
  };
  // Before any body is read: a declared length over the JSON limit is refused at once (only the
  // upload route takes more), and a GET carries no body at all — so raising httplib's payload
  // limit for uploads lets no other request buffer more than max_body_bytes.
  size_t max_body = impl->options.max_body_bytes;
  http.set_pre_routing_handler([max_body](const httplib::Request& request,
                                          httplib::Response& response) {
    bool upload = request.method == "PUT" && request.path.rfind("/api/v1/uploads/", 0) == 0;
    bool chunked =
        request.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
    size_t length = 0;
    bool has_length = request.has_header("Content-Length") &&
                      absl::SimpleAtoi(request.get_header_value("Content-Length"), &length);
    Reply reply;
    if ((request.method == "GET" || request.method == "HEAD") && (chunked || length > 0)) {
      reply = HttpError(400, absl::StatusCode::kInvalidArgument,
                        absl::StrCat("$: a ", request.method, " request has no body"));
    } else if (!upload && request.has_header("Transfer-Encoding")) {
      // cpp-httplib's size limit applies to Content-Length only: a chunked JSON body could go
      // on without end. The API's clients send Content-Length; only uploads stream.
      reply = HttpError(411, absl::StatusCode::kInvalidArgument,
                        "send the request body with a Content-Length, not chunked");
    } else if (!upload && has_length && length > max_body) {
      reply = HttpError(413, absl::StatusCode::kInvalidArgument, "the request body is too large");
    } else {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    response.status = reply.status;
    response.set_header("Connection", "close");
    response.set_content(reply.body, kJson);
    // The body was not read: what the client still sends must not be parsed as more requests.
    DisconnectAfterAnswer(request);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Content readers are dispatched before the plain handlers, the upload route first.
  RegisterUploads(
      http, service,
      [self](const httplib::Request& request, httplib::Response& response) {
        self->console->SetSecurityHeaders(request, response);
        return self->Authenticate(request);
      },
      impl->options.log);
  http.Get(".*", handle);
  http.Post(".*", handle_body);
  http.Put(".*", handle_body);
  http.Delete(".*", handle_body);
  http.Patch(".*", handle_body);
  // What httplib answers itself (a body over the limit, a request it cannot parse) gets the
  // API's error object too.
  http.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    // An answer of ours has its type (a body sent by SendBody may not be in response.body).
    if (!response.body.empty() || response.has_header("Content-Type")) return;
    Reply reply;
    if (response.status == 413) {
      reply = HttpError(413, absl::StatusCode::kInvalidArgument, "the request body is too large");
    } else if (response.status == 404) {
      reply = HttpError(404, absl::StatusCode::kNotFound, "no such route in the Parley API");
    } else {
      reply = HttpError(response.status, absl::StatusCode::kInvalidArgument,
                        "the request could not be read (malformed, or sent too slowly)");
    }
    response.set_content(reply.body, kJson);
  });
  // Called once each answer is written.
  http.set_logger([](const httplib::Request& request, const httplib::Response&) {
    DisconnectIfAsked(request);
  });
  // Errors are values below the handlers; an exception here is a bug. Say so without what it
  // carries (it could quote data).
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
        Reply reply = ErrorReply(absl::InternalError("internal error (unexpected exception)"));
        response.status = reply.status;
        response.set_content(reply.body, kJson);
      });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

absl::StatusOr<int> Server::Bind() {
  int port = impl_->options.port;
  if (port == 0) {
    port = impl_->http->bind_to_any_port(impl_->options.host);
    if (port < 0) port = -1;
  } else if (!impl_->http->bind_to_port(impl_->options.host, port)) {
    port = -1;
  }
  if (port > 0) impl_->raise_backlog();
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", impl_->options.host, ":",
                                               impl_->options.port,
                                               " (in use, or not an address of this machine)"));
  }
  return port;
}

absl::Status Server::Serve() {
  if (!impl_->http->listen_after_bind()) {
    return absl::InternalError("the server stopped listening unexpectedly");
  }
  return absl::OkStatus();
}

void Server::Stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

std::vector<api::Route> Server::routes() const {
  std::vector<api::Route> routes;
  for (const Handler& handler : impl_->handlers) routes.push_back(handler.route);
#define PARLEY_SESSION_ROUTE(name, request, response, method, path, authenticated) \
  routes.push_back(api::k##name.route);
  PARLEY_SESSION_ENDPOINTS(PARLEY_SESSION_ROUTE)
#undef PARLEY_SESSION_ROUTE
  return routes;
}

}  // namespace parley::server
