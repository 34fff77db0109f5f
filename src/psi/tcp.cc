#include "psi/tcp.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace parley::psi {
namespace {

void SetTimeouts(int fd, std::chrono::seconds timeout) {
  timeval tv{};
  tv.tv_sec = timeout.count();
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

absl::Status SocketError(const char* what) {
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    return absl::DeadlineExceededError(
        absl::StrCat("the peer sent nothing for too long (", what, ")"));
  }
  return absl::UnavailableError(absl::StrCat(what, " failed: ", std::strerror(errno)));
}

class TcpChannel : public Channel {
 public:
  explicit TcpChannel(int fd) : fd_(fd) {}
  ~TcpChannel() override {
    Close();
    ::close(fd_);
  }

  absl::Status Write(absl::string_view bytes) override {
    while (!bytes.empty()) {
      ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR) continue;
        return SocketError("sending");
      }
      bytes.remove_prefix(sent);
    }
    return absl::OkStatus();
  }

  absl::Status Read(char* out, size_t size) override {
    size_t done = 0;
    while (done < size) {
      ssize_t got = ::recv(fd_, out + done, size - done, 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        return SocketError("receiving");
      }
      if (got == 0) {
        return done == 0 ? absl::OutOfRangeError("the connection ended")
                         : absl::DataLossError("the connection ended inside a message");
      }
      done += got;
    }
    return absl::OkStatus();
  }

  void Close() override { ::shutdown(fd_, SHUT_RDWR); }

 private:
  int fd_;
};

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown TLS error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

class TlsChannel : public Channel {
 public:
  TlsChannel(int fd, std::unique_ptr<SSL_CTX, SslCtxFree> ctx, std::unique_ptr<SSL, SslFree> ssl)
      : fd_(fd), ctx_(std::move(ctx)), ssl_(std::move(ssl)) {}
  ~TlsChannel() override {
    Close();
    ssl_.reset();
    ::close(fd_);
  }

  absl::Status Write(absl::string_view bytes) override {
    while (!bytes.empty()) {
      size_t written = 0;
      if (SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &written) != 1) {
        return absl::UnavailableError(absl::StrCat("sending over TLS failed: ", OpenSslError()));
      }
      bytes.remove_prefix(written);
    }
    return absl::OkStatus();
  }

  absl::Status Read(char* out, size_t size) override {
    size_t done = 0;
    while (done < size) {
      size_t got = 0;
      if (SSL_read_ex(ssl_.get(), out + done, size - done, &got) != 1) {
        int error = SSL_get_error(ssl_.get(), 0);
        if (error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL) {
          ERR_clear_error();
          return done == 0 ? absl::OutOfRangeError("the connection ended")
                           : absl::DataLossError("the connection ended inside a message");
        }
        return absl::UnavailableError(absl::StrCat("receiving over TLS failed: ", OpenSslError()));
      }
      done += got;
    }
    return absl::OkStatus();
  }

  void Close() override {
    if (!closed_) {
      closed_ = true;
      SSL_shutdown(ssl_.get());
      ::shutdown(fd_, SHUT_RDWR);
    }
  }

 private:
  int fd_;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  bool closed_ = false;
};

// The TLS side of an accepted or connected socket; takes `fd` in every case.
absl::StatusOr<std::unique_ptr<Channel>> StartTls(int fd, const TransportOptions& options,
                                                  bool server, const std::string& host) {
  // SSL_write on a socket the peer has closed would raise SIGPIPE (OpenSSL writes without
  // MSG_NOSIGNAL); the error is reported as a status instead.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(
      SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  auto fail = [&](std::string message) {
    ::close(fd);
    return absl::UnavailableError(std::move(message));
  };
  if (!ctx) return fail("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (server) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.tls_cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), options.tls_key_file.c_str(), SSL_FILETYPE_PEM) !=
            1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      ::close(fd);
      return absl::InvalidArgumentError(absl::StrCat("cannot use the TLS certificate '",
                                                     options.tls_cert_file, "' and key '",
                                                     options.tls_key_file, "': ", OpenSslError()));
    }
  } else {
    if (SSL_CTX_load_verify_locations(ctx.get(), options.tls_ca_file.c_str(), nullptr) != 1) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read the CA file '", options.tls_ca_file, "': ", OpenSslError()));
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (!ssl) return fail("cannot create a TLS session");
  SSL_set_fd(ssl.get(), fd);
  if (!server) {
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    in6_addr address6;
    in_addr address4;
    if (inet_pton(AF_INET, host.c_str(), &address4) == 1 ||
        inet_pton(AF_INET6, host.c_str(), &address6) == 1) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str());
    } else {
      SSL_set1_host(ssl.get(), host.c_str());
    }
  }
  if ((server ? SSL_accept(ssl.get()) : SSL_connect(ssl.get())) != 1) {
    std::string reason = OpenSslError();
    if (!server && SSL_get_verify_result(ssl.get()) != X509_V_OK) {
      reason = absl::StrCat("the peer's certificate was refused: ",
                            X509_verify_cert_error_string(SSL_get_verify_result(ssl.get())));
    }
    return fail(absl::StrCat("the TLS handshake failed: ", reason));
  }
  return std::unique_ptr<Channel>(new TlsChannel(fd, std::move(ctx), std::move(ssl)));
}

struct AddrInfoFree {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};

absl::StatusOr<std::unique_ptr<addrinfo, AddrInfoFree>> Resolve(const std::string& host, int port,
                                                                bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  int error = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve host '", host, "': ", gai_strerror(error)));
  }
  return std::unique_ptr<addrinfo, AddrInfoFree>(found);
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& host_port) {
  std::string host;
  std::string port_text;
  if (!host_port.empty() && host_port[0] == '[') {
    size_t close = host_port.find("]:");
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", host_port, "' is not HOST:PORT ([ADDRESS]:PORT for IPv6)"));
    }
    host = host_port.substr(1, close - 1);
    port_text = host_port.substr(close + 2);
  } else {
    size_t colon = host_port.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", host_port, "' is not HOST:PORT"));
    }
    host = host_port.substr(0, colon);
    port_text = host_port.substr(colon + 1);
  }
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host_port, "' does not end in a port number (0 to 65535)"));
  }
  return std::make_pair(host, port);
}

absl::StatusOr<std::unique_ptr<Listener>> Listener::Open(const std::string& host_port) {
  PARLEY_ASSIGN_OR_RETURN(auto address, SplitHostPort(host_port));
  PARLEY_ASSIGN_OR_RETURN(auto info, Resolve(address.first, address.second, true));
  int fd = ::socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketError("creating a socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, info->ai_addr, info->ai_addrlen) != 0 || ::listen(fd, 1) != 0) {
    absl::Status error = absl::UnavailableError(
        absl::StrCat("cannot listen on ", host_port, ": ", std::strerror(errno)));
    ::close(fd);
    return error;
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  int port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::unique_ptr<Listener>(new Listener(fd, port));
}

Listener::~Listener() { ::close(fd_); }

absl::StatusOr<std::unique_ptr<Channel>> Listener::Accept(const TransportOptions& options) {
  pollfd waiting{fd_, POLLIN, 0};
  int ready = ::poll(&waiting, 1, static_cast<int>(options.accept_timeout.count() * 1000));
  if (ready == 0) {
    return absl::DeadlineExceededError(
        absl::StrCat("no peer connected within ", options.accept_timeout.count(), " seconds"));
  }
  if (ready < 0) return SocketError("waiting for the peer");
  int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return SocketError("accepting the peer's connection");
  SetTimeouts(fd, options.io_timeout);
  if (!options.tls_cert_file.empty()) return StartTls(fd, options, /*server=*/true, "");
  return std::unique_ptr<Channel>(new TcpChannel(fd));
}

absl::StatusOr<std::unique_ptr<Channel>> Connect(const std::string& host_port,
                                                 const TransportOptions& options) {
  PARLEY_ASSIGN_OR_RETURN(auto address, SplitHostPort(host_port));
  if (address.second == 0) return absl::InvalidArgumentError("cannot connect to port 0");
  PARLEY_ASSIGN_OR_RETURN(auto info, Resolve(address.first, address.second, false));
  auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
  for (;;) {
    int fd = ::socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return SocketError("creating a socket");
    if (::connect(fd, info->ai_addr, info->ai_addrlen) == 0) {
      SetTimeouts(fd, options.io_timeout);
      if (!options.tls_ca_file.empty()) {
        return StartTls(fd, options, /*server=*/false, address.first);
      }
      return std::unique_ptr<Channel>(new TcpChannel(fd));
    }
    int error = errno;
    ::close(fd);
    if (error != ECONNREFUSED || std::chrono::steady_clock::now() >= deadline) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", host_port, ": ", std::strerror(error)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace parley::psi
