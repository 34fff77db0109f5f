// A secret text (a password an operator's file gives Parley) that wipes itself and cannot be
// printed. It exists so that a password never sits in a std::string that an error message, a log
// line, a JSON answer or a core dump could carry: the bytes are reachable only through `reveal()`,
// at the one place that hands them to a wire protocol; there is no operator<<, no AbslStringify
// and no conversion to std::string; and every copy overwrites its bytes when it goes away
// (explicit_bzero, which the compiler may not elide — a plain memset before free may be).
//
// The storage is one exactly-sized heap block, never grown: a std::string would reallocate as it
// grows and leave unwiped copies behind, and its short-string buffer lives inside the object.
//
//   PARLEY_ASSIGN_OR_RETURN(Secret password, ReadPasswordFile(path));
//   client.set_basic_auth(user, std::string(password.reveal()));  // the one place it leaves
//
// Crypto keys have their own type (crypto/secret_key.h, fixed 32 bytes); this one is for text of
// any length, in base so that every layer (engine, connectors, service) may hold one.
//
// Thread safety: an immutable value once built; any number of threads may read it.
#pragma once

#include <string.h>  // explicit_bzero (glibc)

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace parley {

class Secret {
 public:
  Secret() = default;
  // Copies `text`; the caller wipes its own copy (WipeString) when it is done with it.
  explicit Secret(std::string_view text) : size_(text.size()) {
    if (size_ > 0) {
      bytes_ = std::make_unique<char[]>(size_);
      memcpy(bytes_.get(), text.data(), size_);
    }
  }
  Secret(const Secret& other) : Secret(other.reveal()) {}
  Secret& operator=(const Secret& other) {
    if (this != &other) *this = Secret(other.reveal());
    return *this;
  }
  Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)), size_(other.size_) {
    other.size_ = 0;
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      Wipe();
      bytes_ = std::move(other.bytes_);
      size_ = other.size_;
      other.size_ = 0;
    }
    return *this;
  }
  ~Secret() { Wipe(); }

  // The secret's bytes, for the one call that sends them (an Authorization header). Never put
  // them in a message, a log line or an answer.
  std::string_view reveal() const { return std::string_view(bytes_.get(), size_); }
  bool empty() const { return size_ == 0; }

 private:
  void Wipe() {
    if (bytes_ != nullptr) explicit_bzero(bytes_.get(), size_);
    bytes_.reset();
    size_ = 0;
  }
  std::unique_ptr<char[]> bytes_;
  size_t size_ = 0;
};

// Overwrites a std::string's whole buffer (its capacity, not only its size) and empties it: for
// the temporaries a secret passes through on its way in or out (a file's text, a header value).
inline void WipeString(std::string& text) {
  text.resize(text.capacity());
  explicit_bzero(text.data(), text.size());
  text.clear();
}

}  // namespace parley
